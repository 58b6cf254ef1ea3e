// `sqlx::migrate!` embeds the migrations at compile time; rebuild when one is
// added or changed so a new file is never silently left out.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
