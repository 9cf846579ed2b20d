fn main() {
    for e in lxc::api_extensions() {
        println!("{e}");
    }
}
