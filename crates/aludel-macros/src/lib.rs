//! The `embed_migrations!` macro of [aludel](https://docs.rs/aludel): an application's
//! revision files compiled into its binary. Use it through `aludel::embed_migrations!`
//! (the `aludel` crate's `embed` feature, on by default); this crate has nothing else.

use std::path::{Path, PathBuf};

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::{LitStr, parse_macro_input};

/// Embeds an application's revision files: expands to a
/// `&'static [(&'static str, &'static str)]` of `(path, text)` pairs for
/// `aludel::migrator::Migrator::embedded`, sorted by file name.
///
/// The argument is the migrations folder, relative to the calling crate's
/// `Cargo.toml`: the `.sql` files of its `versions` folder are embedded (the layout
/// `aludel init` creates), or those of the folder itself when it has no `versions`
/// folder. A missing folder, or one without `.sql` files, is a compile error. Each
/// path in the result is the argument joined with the file's path under it, e.g.
/// `migrations/versions/20260110_1430_1f0c2a9b7d31_create_authors.sql`: what messages
/// about the file show.
///
/// ```text
/// // examples/embedded-app (built and run by its tests) does exactly this.
/// let migrator = aludel::migrator::Migrator::embedded(aludel::embed_migrations!("migrations"))?;
/// ```
///
/// Each file is included with `include_str!`, so editing one rebuilds the crate. A
/// file *added* to the folder does not by itself: add a `build.rs` that says so,
///
/// ```text
/// fn main() {
///     println!("cargo:rerun-if-changed=migrations");
/// }
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let arg = parse_macro_input!(input as LitStr);
    match embed(&arg) {
        Ok(tokens) => tokens.into(),
        Err(message) => syn::Error::new(arg.span(), message)
            .to_compile_error()
            .into(),
    }
}

fn embed(arg: &LitStr) -> Result<proc_macro2::TokenStream, String> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .ok_or("embed_migrations!: CARGO_MANIFEST_DIR is not set; build the crate with cargo")?;
    embed_from(Path::new(&manifest_dir), &arg.value())
}

/// The expansion for the folder `written` of the crate in `manifest_dir`.
fn embed_from(manifest_dir: &Path, written: &str) -> Result<proc_macro2::TokenStream, String> {
    let folder = manifest_dir.join(written);
    if !folder.is_dir() {
        return Err(format!(
            "embed_migrations!: migrations folder `{written}` not found (looked at {}; the path is relative to the crate's Cargo.toml)",
            folder.display()
        ));
    }
    let (dir, prefix) = if folder.join("versions").is_dir() {
        (
            folder.join("versions"),
            format!("{}/versions", written.trim_end_matches('/')),
        )
    } else {
        (folder.clone(), written.trim_end_matches('/').to_string())
    };
    let files = sql_files(&dir)?;
    if files.is_empty() {
        return Err(format!(
            "embed_migrations!: `{prefix}` holds no .sql revision files (looked at {})",
            dir.display()
        ));
    }
    let mut entries = Vec::with_capacity(files.len());
    for (name, path) in files {
        let path = path.to_str().ok_or_else(|| {
            format!(
                "embed_migrations!: {} is not valid UTF-8, which include_str! needs",
                path.display()
            )
        })?;
        let label = LitStr::new(&format!("{prefix}/{name}"), Span::call_site());
        let path = LitStr::new(path, Span::call_site());
        entries.push(quote! { (#label, ::core::include_str!(#path)) });
    }
    Ok(quote! {
        {
            const MIGRATIONS: &[(&str, &str)] = &[#(#entries),*];
            MIGRATIONS
        }
    })
}

/// The visible `.sql` files of `dir` (symlinks to files included), sorted by name:
/// the files `aludel` itself reads from a versions folder.
fn sql_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let read_error = |e: std::io::Error| format!("embed_migrations!: {}: {e}", dir.display());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let Some(name) = path.file_name() else {
            continue;
        };
        let Some(name) = name.to_str() else {
            return Err(format!(
                "embed_migrations!: the file name {} is not valid UTF-8",
                path.display()
            ));
        };
        if name.starts_with('.') || !name.ends_with(".sql") || !path.is_file() {
            continue;
        }
        files.push((name.to_string(), path));
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn versions_files_are_included_by_absolute_path_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let versions = dir.path().join("migrations/versions");
        write(&versions.join("b_second.sql"), "-- b");
        write(&versions.join("a_first.sql"), "-- a");
        write(&versions.join(".hidden.sql"), "");
        write(&versions.join("notes.txt"), "");
        let out = embed_from(dir.path(), "migrations").unwrap().to_string();
        let a = out.find("\"migrations/versions/a_first.sql\"").unwrap();
        let b = out.find("\"migrations/versions/b_second.sql\"").unwrap();
        assert!(a < b, "{out}");
        let absolute = format!("{:?}", versions.join("a_first.sql").display().to_string());
        assert!(out.contains(&absolute), "{out}");
        assert!(out.contains("include_str"), "{out}");
        assert!(
            !out.contains("hidden") && !out.contains("notes.txt"),
            "{out}"
        );
    }

    #[test]
    fn a_folder_without_versions_has_its_own_files_embedded() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("sql/one.sql"), "-- one");
        let out = embed_from(dir.path(), "sql/").unwrap().to_string();
        assert!(out.contains("\"sql/one.sql\""), "{out}");
    }

    #[test]
    fn a_missing_or_empty_folder_is_an_error_saying_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let e = embed_from(dir.path(), "migrations").unwrap_err();
        assert!(
            e.starts_with("embed_migrations!: migrations folder `migrations` not found"),
            "{e}"
        );
        assert!(e.contains("relative to the crate's Cargo.toml"), "{e}");
        std::fs::create_dir_all(dir.path().join("migrations/versions")).unwrap();
        let e = embed_from(dir.path(), "migrations").unwrap_err();
        assert!(
            e.starts_with("embed_migrations!: `migrations/versions` holds no .sql revision files"),
            "{e}"
        );
    }
}
