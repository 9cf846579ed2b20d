//! The BPF_PROG_TYPE_CGROUP_DEVICE program LXC 5.0.2 generates for a device list
//! (`bpf_program_init`, `bpf_program_append_device`, `bpf_program_finalize` in
//! cgroup2_devices.c), instruction for instruction.
//!
//! The kernel passes `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`,
//! `access_type` being `(access << 16) | type`. The program loads the four values into r2-r5,
//! then tests the emitted rules one after another (newest first): a rule that matches returns
//! its verdict, and the end returns the list's default.

use crate::list::DeviceList;
use crate::rule::{DevType, DeviceRule};

/// The kernel's access bits (`BPF_DEVCG_ACC_*`).
pub const ACC_MKNOD: u32 = 1;
pub const ACC_READ: u32 = 2;
pub const ACC_WRITE: u32 = 4;
const ACC_ALL: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// The kernel's device types (`BPF_DEVCG_DEV_*`).
pub const DEV_BLOCK: i32 = 1;
pub const DEV_CHAR: i32 = 2;

// Opcodes (linux/bpf_common.h, linux/bpf.h): class | size/op | mode/source.
const BPF_LDX: u8 = 0x01;
const BPF_ALU: u8 = 0x04;
const BPF_JMP: u8 = 0x05;
const BPF_ALU64: u8 = 0x07;
const BPF_W: u8 = 0x00;
const BPF_MEM: u8 = 0x60;
const BPF_K: u8 = 0x00;
const BPF_X: u8 = 0x08;
const BPF_AND: u8 = 0x50;
const BPF_RSH: u8 = 0x70;
const BPF_MOV: u8 = 0xb0;
const BPF_JNE: u8 = 0x50;
const BPF_EXIT: u8 = 0x90;

// Offsets in struct bpf_cgroup_dev_ctx.
const OFF_ACCESS_TYPE: i16 = 0;
const OFF_MAJOR: i16 = 4;
const OFF_MINOR: i16 = 8;

/// One `struct bpf_insn`, laid out as the kernel reads it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst_reg in the low nibble, src_reg in the high one (little-endian bitfields).
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        #[cfg(target_endian = "little")]
        let regs = (dst & 0x0f) | (src << 4);
        #[cfg(target_endian = "big")]
        let regs = (dst << 4) | (src & 0x0f);
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }

    pub fn dst(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0x0f
        } else {
            self.regs >> 4
        }
    }

    pub fn src(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0x0f
        }
    }
}

fn ldx_w(dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
}
fn alu32_imm(op: u8, dst: u8, imm: i32) -> Insn {
    Insn::new(BPF_ALU | op | BPF_K, dst, 0, 0, imm)
}
fn mov64_imm(dst: u8, imm: i32) -> Insn {
    Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
}
fn mov32_reg(dst: u8, src: u8) -> Insn {
    Insn::new(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
}
fn jne_reg(dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_JMP | BPF_JNE | BPF_X, dst, src, off, 0)
}
fn jne_imm(dst: u8, imm: i32, off: i16) -> Insn {
    Insn::new(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
}
fn exit() -> Insn {
    Insn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
}

/// The kernel bits of an access text (letters are checked by the parser).
pub fn access_mask(access: &str) -> u32 {
    access.bytes().fold(0, |m, b| {
        m | match b {
            b'r' => ACC_READ,
            b'w' => ACC_WRITE,
            b'm' => ACC_MKNOD,
            _ => 0,
        }
    })
}

fn type_code(t: DevType) -> i32 {
    match t {
        DevType::All => 0,
        DevType::Block => DEV_BLOCK,
        DevType::Char => DEV_CHAR,
    }
}

/// The rule's test and verdict: each test that fails jumps past the rest of the rule.
fn append_rule(prog: &mut Vec<Insn>, rule: &DeviceRule) {
    let mask = access_mask(&rule.access);
    let partial = mask != ACC_ALL;
    let dev_type = type_code(rule.dev_type);
    // Instructions after each test up to the next rule: the tests still to come, then the
    // verdict's two.
    let mut skip = 1
        + i16::from(partial)
        + i16::from(dev_type > 0)
        + i16::from(rule.major.is_some())
        + i16::from(rule.minor.is_some());
    if partial {
        prog.push(mov32_reg(1, 3));
        prog.push(alu32_imm(BPF_AND, 1, mask as i32));
        prog.push(jne_reg(1, 3, skip));
        skip -= 1;
    }
    if dev_type > 0 {
        prog.push(jne_imm(2, dev_type, skip));
        skip -= 1;
    }
    if let Some(major) = rule.major {
        prog.push(jne_imm(4, major as i32, skip));
        skip -= 1;
    }
    if let Some(minor) = rule.minor {
        prog.push(jne_imm(5, minor as i32, skip));
    }
    prog.push(mov64_imm(0, i32::from(rule.allow)));
    prog.push(exit());
}

/// The program for `list`.
pub fn generate(list: &DeviceList) -> Vec<Insn> {
    let mut prog = vec![
        // r2 = device type, r3 = access, r4 = major, r5 = minor.
        ldx_w(2, 1, OFF_ACCESS_TYPE),
        alu32_imm(BPF_AND, 2, 0xFFFF),
        ldx_w(3, 1, OFF_ACCESS_TYPE),
        alu32_imm(BPF_RSH, 3, 16),
        ldx_w(4, 1, OFF_MAJOR),
        ldx_w(5, 1, OFF_MINOR),
    ];
    for rule in list.emitted() {
        append_rule(&mut prog, rule);
    }
    prog.push(mov64_imm(0, list.list_type.default_verdict()));
    prog.push(exit());
    prog
}

/// Run a program of the instructions [`generate`] uses on one access, as the kernel would:
/// `Some(verdict)`, or None for an instruction it does not know or a jump out of the program.
/// For tests: it checks the generated code against [`DeviceList::verdict`] without a kernel.
pub fn interpret(
    prog: &[Insn],
    dev_type: i32,
    access: u32,
    major: u32,
    minor: u32,
) -> Option<bool> {
    let ctx = [(access << 16) | dev_type as u32, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    for _ in 0..prog.len() + 1 {
        let i = prog.get(pc)?;
        let (d, s) = (usize::from(i.dst()), usize::from(i.src()));
        let imm64 = i64::from(i.imm) as u64;
        pc += 1;
        match i.code {
            0x61 => {
                if s != 1 {
                    return None;
                }
                r[d] = u64::from(*ctx.get(usize::try_from(i.off / 4).ok()?)?);
            }
            0x54 => r[d] = u64::from((r[d] as u32) & (i.imm as u32)),
            0x74 => r[d] = u64::from((r[d] as u32) >> (i.imm as u32 & 31)),
            0xb7 => r[d] = imm64,
            0xbc => r[d] = u64::from(r[s] as u32),
            0x5d | 0x55 => {
                let other = if i.code == 0x5d { r[s] } else { imm64 };
                if r[d] != other {
                    pc = usize::try_from(pc as i64 + i64::from(i.off)).ok()?;
                }
            }
            0x95 => return Some(r[0] != 0),
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::parse;

    fn list(rules: &[(&str, &str)]) -> DeviceList {
        let mut l = DeviceList::new();
        for (file, v) in rules {
            l.add(parse("k", file, v).unwrap());
        }
        l
    }

    fn words(prog: &[Insn]) -> Vec<(u8, u8, u8, i16, i32)> {
        prog.iter()
            .map(|i| (i.code, i.dst(), i.src(), i.off, i.imm))
            .collect()
    }

    const PROLOGUE: [(u8, u8, u8, i16, i32); 6] = [
        (0x61, 2, 1, 0, 0),
        (0x54, 2, 0, 0, 0xFFFF),
        (0x61, 3, 1, 0, 0),
        (0x74, 3, 0, 0, 16),
        (0x61, 4, 1, 4, 0),
        (0x61, 5, 1, 8, 0),
    ];

    #[test]
    fn insn_layout_is_the_kernels() {
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        let i = jne_reg(1, 3, 5);
        assert_eq!((i.dst(), i.src()), (1, 3));
        #[cfg(target_endian = "little")]
        assert_eq!(i.regs, 0x31);
    }

    /// The instructions LXC's cgroup2_devices.c emits, worked out by hand from its source.
    #[test]
    fn instructions_as_lxc_emits_them() {
        // Allowlist with one full-access rule and one partial one: the newest comes first.
        let l = list(&[
            ("devices.deny", "a"),
            ("devices.allow", "c 1:3 rwm"),
            ("devices.allow", "b *:0 r"),
        ]);
        let mut want = PROLOGUE.to_vec();
        want.extend([
            // b *:0 r: access test (skip 4), type (3), minor (2), verdict.
            (0xbc, 1, 3, 0, 0),
            (0x54, 1, 0, 0, ACC_READ as i32),
            (0x5d, 1, 3, 4, 0),
            (0x55, 2, 0, 3, DEV_BLOCK),
            (0x55, 5, 0, 2, 0),
            (0xb7, 0, 0, 0, 1),
            (0x95, 0, 0, 0, 0),
            // c 1:3 rwm: type (skip 4), major (3), minor (2), verdict.
            (0x55, 2, 0, 4, DEV_CHAR),
            (0x55, 4, 0, 3, 1),
            (0x55, 5, 0, 2, 3),
            (0xb7, 0, 0, 0, 1),
            (0x95, 0, 0, 0, 0),
            // Default: deny.
            (0xb7, 0, 0, 0, 0),
            (0x95, 0, 0, 0, 0),
        ]);
        assert_eq!(words(&generate(&l)), want);

        // Denylist: only the deny rules; `a *:* rwm` has no test at all (the kernel refuses
        // this program: the default after it cannot be reached; LXC makes the same one).
        let l = list(&[
            ("devices.allow", "a"),
            ("devices.allow", "c 1:3 rwm"),
            ("devices.deny", "a *:* rwm"),
        ]);
        let mut want = PROLOGUE.to_vec();
        want.extend([
            (0xb7, 0, 0, 0, 0),
            (0x95, 0, 0, 0, 0),
            (0xb7, 0, 0, 0, 1),
            (0x95, 0, 0, 0, 0),
        ]);
        assert_eq!(words(&generate(&l)), want);
    }

    /// The generated program answers every access as the list's rules say, for lists built
    /// from a spread of rules (a small deterministic generator, so a failure repeats).
    #[test]
    fn program_answers_as_the_list() {
        let types = ["a", "b", "c"];
        let nums = ["*", "0", "1", "3", "7"];
        let accesses = ["", "r", "w", "m", "rw", "wr", "rm", "wm", "rwm", "mrw"];
        let mut seed: u64 = 0x5eed;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for _ in 0..400 {
            let mut l = DeviceList::new();
            for _ in 0..next(8) {
                let file = if next(2) == 0 {
                    "devices.allow"
                } else {
                    "devices.deny"
                };
                let v = if next(10) == 0 {
                    "a".to_string()
                } else {
                    format!(
                        "{} {}:{} {}",
                        types[next(3)],
                        nums[next(5)],
                        nums[next(5)],
                        accesses[next(accesses.len())]
                    )
                };
                l.add(parse("k", file, &v).unwrap());
            }
            let prog = generate(&l);
            for (t, code) in [(DevType::Block, DEV_BLOCK), (DevType::Char, DEV_CHAR)] {
                for major in [0, 1, 3, 7, 8] {
                    for minor in [0, 1, 3, 7, 9] {
                        for access in 1..=ACC_ALL {
                            assert_eq!(
                                interpret(&prog, code, access, major, minor),
                                Some(l.verdict(t, major, minor, access)),
                                "{l:?}: {t:?} {major}:{minor} access {access}"
                            );
                        }
                    }
                }
            }
        }
    }
}
