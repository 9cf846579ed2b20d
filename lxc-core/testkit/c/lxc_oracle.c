/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small driver around liblxc's config API, used as the oracle in
 * the differential tests (lxc-core, lxc-net, lxc_log), driven by
 * lxc-testkit. It reads one command per line on stdin and
 * answers one line per command on stdout.
 *
 *   usage: lxc_oracle NAME LXCPATH EMPTY_CONFIG_FILE
 *
 * Arguments are separated by single spaces; inside an argument a space, a
 * backslash and any byte outside printable ASCII are written \xHH. Answers
 * use the same escaping.
 *
 *   reset            drop the container handle and make a fresh one
 *   set KEY VALUE    set_config_item      -> "ok" | "err"
 *   get KEY          get_config_item      -> "val ESCAPED" | "err"
 *   clear KEY        clear_config_item    -> "ok" | "err"
 *   keys [KEY]       get_keys             -> "val ESCAPED" | "err"
 *   save PATH        save_config(PATH)    -> "ok" | "err"
 *   load PATH        load_config(PATH)    -> "ok" | "err"
 *
 * A fresh handle of an undefined container has no config at all (get fails),
 * so "reset" loads EMPTY_CONFIG_FILE to start from LXC's defaults, the state
 * a container whose config file is empty has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lxc/lxccontainer.h>

static const char *name, *lxcpath, *empty_config;
static struct lxc_container *c;

static void put_escaped(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b <= 0x20 || b >= 0x7f || b == '\\')
			printf("\\x%02x", b);
		else
			putchar(b);
	}
}

/* Decode \xHH escapes in place. Returns 0 on success. */
static int unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\') {
			unsigned int v;

			if (s[1] != 'x' || sscanf(s + 2, "%2x", &v) != 1)
				return -1;
			*out++ = (char)v;
			s += 4;
			continue;
		}
		*out++ = *s++;
	}
	*out = '\0';
	return 0;
}

static int reset(void)
{
	if (c)
		lxc_container_put(c);

	c = lxc_container_new(name, lxcpath);
	if (!c)
		return -1;

	if (!c->load_config(c, empty_config))
		return -1;

	return 0;
}

static void answer_value(int len, char *(*fill)(int len))
{
	char *buf;

	if (len < 0) {
		puts("err");
		return;
	}

	buf = fill(len);
	if (!buf) {
		puts("err");
		return;
	}

	fputs("val ", stdout);
	put_escaped(buf, strlen(buf));
	putchar('\n');
	free(buf);
}

static const char *cur_key;

static char *fill_get(int len)
{
	char *buf = calloc(1, (size_t)len + 1);

	if (!buf)
		return NULL;
	if (len > 0 && c->get_config_item(c, cur_key, buf, len + 1) < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static char *fill_keys(int len)
{
	char *buf = calloc(1, (size_t)len + 1);

	if (!buf)
		return NULL;
	if (len > 0 && c->get_keys(c, cur_key, buf, len + 1) < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int main(int argc, char *argv[])
{
	char *line = NULL;
	size_t cap = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: %s NAME LXCPATH EMPTY_CONFIG_FILE\n", argv[0]);
		return 2;
	}
	name = argv[1];
	lxcpath = argv[2];
	empty_config = argv[3];

	setvbuf(stdout, NULL, _IOLBF, 0);

	if (reset() < 0) {
		fprintf(stderr, "lxc_container_new failed\n");
		return 1;
	}

	while (getline(&line, &cap, stdin) > 0) {
		char *cmd, *a1, *a2, *nl;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';

		cmd = line;
		a1 = strchr(cmd, ' ');
		if (a1)
			*a1++ = '\0';
		a2 = a1 ? strchr(a1, ' ') : NULL;
		if (a2)
			*a2++ = '\0';

		if ((a1 && unescape(a1)) || (a2 && unescape(a2))) {
			puts("bad-escape");
			continue;
		}

		if (strcmp(cmd, "reset") == 0) {
			puts(reset() == 0 ? "ok" : "err");
		} else if (strcmp(cmd, "set") == 0 && a1) {
			puts(c->set_config_item(c, a1, a2 ? a2 : "") ? "ok" : "err");
		} else if (strcmp(cmd, "get") == 0 && a1) {
			cur_key = a1;
			answer_value(c->get_config_item(c, a1, NULL, 0), fill_get);
		} else if (strcmp(cmd, "clear") == 0 && a1) {
			puts(c->clear_config_item(c, a1) ? "ok" : "err");
		} else if (strcmp(cmd, "keys") == 0) {
			cur_key = a1;
			answer_value(c->get_keys(c, a1, NULL, 0), fill_keys);
		} else if (strcmp(cmd, "save") == 0 && a1) {
			puts(c->save_config(c, a1) ? "ok" : "err");
		} else if (strcmp(cmd, "load") == 0 && a1) {
			puts(c->load_config(c, a1) ? "ok" : "err");
		} else {
			puts("bad-command");
		}
	}

	free(line);
	if (c)
		lxc_container_put(c);
	return 0;
}
