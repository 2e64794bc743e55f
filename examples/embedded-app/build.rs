//! Rebuild when a revision file is added to `migrations/`: `embed_migrations!`
//! includes each file it finds, so cargo already rebuilds when one of those changes,
//! but it cannot know about a file that did not exist at the last build.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
