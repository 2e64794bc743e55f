//! The deployment files under `deploy/`: the Dockerfile, the compose stack and the
//! Kubernetes manifests. What a schema or a linter knows is checked by the tools
//! platforms use (hadolint, kubernetes-validate for each Kubernetes version supported,
//! check-jsonschema with the compose-spec schema), which `scripts/test` installs; see
//! "The tools platforms use" below. There is no container engine where these tests
//! run, so for the rest they read the files and check what no schema can know and
//! what decides whether a deployment works and is safe: the entrypoint and the user of
//! the image, the order in which services start, where each database URL comes from,
//! and that the files agree with each other (one image name, one user id, one shard
//! count). The example project that the image carries is run with the real binary,
//! laid out as the image lays it out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::Yaml;

const BIN: &str = env!("CARGO_BIN_EXE_aludel");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

fn deploy() -> PathBuf {
    repo().join("deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------
// A Dockerfile reader: enough of the syntax for these files, strict about the rest.

mod dockerfile {
    use std::collections::BTreeMap;

    /// One instruction, with its continuation lines joined.
    #[derive(Debug, Clone)]
    pub struct Instruction {
        /// The line it starts on (1-based), for messages.
        pub line: usize,
        /// Upper-cased: `FROM`, `RUN`, `COPY`, ...
        pub keyword: String,
        /// Leading `--name=value` options (`--from`, `--mount`, `--chown`, ...).
        pub flags: Vec<(String, String)>,
        /// Everything after the keyword and the flags.
        pub rest: String,
    }

    impl Instruction {
        /// The value of a flag such as `--from`.
        pub fn flag(&self, name: &str) -> Option<&str> {
            self.flags
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }

        /// The JSON array of the exec form, or `None` for the shell form.
        pub fn exec_form(&self) -> Option<Vec<String>> {
            let rest = self.rest.trim();
            if !rest.starts_with('[') {
                return None;
            }
            Some(serde_json::from_str(rest).unwrap_or_else(|e| {
                panic!(
                    "line {}: {} looks like an exec form but is not a JSON array of strings: {e}",
                    self.line, self.keyword
                )
            }))
        }

        /// The words of the shell form or the items of the exec form.
        pub fn words(&self) -> Vec<String> {
            self.exec_form().unwrap_or_else(|| split_words(&self.rest))
        }
    }

    /// One build stage: `FROM base [AS name]` and what follows it.
    #[derive(Debug, Clone)]
    pub struct Stage {
        /// The base, with build arguments filled in.
        pub base: String,
        pub name: Option<String>,
        pub instructions: Vec<Instruction>,
    }

    #[derive(Debug)]
    pub struct Dockerfile {
        /// `ARG`s before the first `FROM`, with their defaults.
        pub global_args: BTreeMap<String, Option<String>>,
        pub stages: Vec<Stage>,
    }

    /// Joins continuation lines and drops comments, the way the builder reads the
    /// file: a comment line inside a continued instruction is dropped too.
    fn logical_lines(text: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let mut current: Option<(usize, String)> = None;
        for (i, raw) in text.lines().enumerate() {
            let trimmed = raw.trim();
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
            let (start, mut acc) = current.take().unwrap_or((i + 1, String::new()));
            let body = raw.trim_end();
            if let Some(cut) = body.strip_suffix('\\') {
                acc.push_str(cut);
                current = Some((start, acc));
            } else {
                acc.push_str(body);
                out.push((start, acc));
            }
        }
        assert!(
            current.is_none(),
            "the Dockerfile ends inside a continued line"
        );
        out
    }

    /// Splits on whitespace, keeping double- and single-quoted text together.
    pub fn split_words(text: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut in_word = false;
        for c in text.chars() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => word.push(c),
                None if c == '"' || c == '\'' => {
                    quote = Some(c);
                    in_word = true;
                }
                None if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                None => {
                    word.push(c);
                    in_word = true;
                }
            }
        }
        assert!(quote.is_none(), "unclosed quote in: {text}");
        if in_word {
            words.push(word);
        }
        words
    }

    /// Fills in `$NAME`, `${NAME}` and `${NAME:-default}` from `vars`; an unknown
    /// name is an error, since the builder would substitute an empty string.
    pub fn substitute(text: &str, vars: &BTreeMap<String, String>, line: usize) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (expr, consumed) = if let Some(braced) = after.strip_prefix('{') {
                let end = braced
                    .find('}')
                    .unwrap_or_else(|| panic!("line {line}: unclosed ${{ in {text}"));
                (&braced[..end], end + 2)
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            };
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            let value = vars
                .get(name)
                .cloned()
                .filter(|v| !v.is_empty() || default.is_none())
                .or(default.map(str::to_string))
                .unwrap_or_else(|| panic!("line {line}: ${name} has no value in {text}"));
            out.push_str(&value);
            rest = &after[consumed..];
        }
        out.push_str(rest);
        out
    }

    /// `NAME=value` pairs of `ENV` and `ARG` (quotes removed); `ARG NAME` alone gives
    /// `None`.
    pub fn assignments(rest: &str) -> Vec<(String, Option<String>)> {
        split_words(rest)
            .into_iter()
            .map(|w| match w.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (w, None),
            })
            .collect()
    }

    pub fn parse(text: &str) -> Dockerfile {
        let mut global_args = BTreeMap::new();
        let mut stages: Vec<Stage> = Vec::new();
        for (line, text) in logical_lines(text) {
            let trimmed = text.trim_start();
            let (keyword, mut rest) = trimmed
                .split_once(char::is_whitespace)
                .unwrap_or((trimmed, ""));
            let keyword = keyword.to_ascii_uppercase();
            assert!(
                !rest.contains("<<"),
                "line {line}: heredocs are not read by this test's parser; write the step without one"
            );
            let mut flags = Vec::new();
            loop {
                rest = rest.trim_start();
                let Some(flag) = rest.strip_prefix("--") else {
                    break;
                };
                let end = flag.find(char::is_whitespace).unwrap_or(flag.len());
                let (name, value) = flag[..end].split_once('=').unwrap_or((&flag[..end], ""));
                flags.push((name.to_string(), value.to_string()));
                rest = &flag[end..];
            }
            let instruction = Instruction {
                line,
                keyword: keyword.clone(),
                flags,
                rest: rest.trim().to_string(),
            };
            match keyword.as_str() {
                "FROM" => {
                    let words = split_words(&instruction.rest);
                    let (base, name) = match words.as_slice() {
                        [base] => (base.clone(), None),
                        [base, r#as, name] if r#as.eq_ignore_ascii_case("as") => {
                            (base.clone(), Some(name.clone()))
                        }
                        _ => panic!("line {line}: FROM should be `FROM image [AS name]`"),
                    };
                    let defaults = global_args
                        .iter()
                        .filter_map(|(k, v): (&String, &Option<String>)| {
                            Some((k.clone(), v.clone()?))
                        })
                        .collect();
                    stages.push(Stage {
                        base: substitute(&base, &defaults, line),
                        name,
                        instructions: Vec::new(),
                    });
                }
                "ARG" if stages.is_empty() => {
                    for (name, value) in assignments(&instruction.rest) {
                        global_args.insert(name, value);
                    }
                }
                _ => stages
                    .last_mut()
                    .unwrap_or_else(|| panic!("line {line}: {keyword} before the first FROM"))
                    .instructions
                    .push(instruction),
            }
        }
        Dockerfile {
            global_args,
            stages,
        }
    }

    impl Dockerfile {
        pub fn stage(&self, name: &str) -> Option<&Stage> {
            self.stages.iter().find(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
        }

        /// The stages `stage` builds on, from the one on an outside image to itself.
        pub fn chain<'a>(&'a self, stage: &'a Stage) -> Vec<&'a Stage> {
            let mut chain = vec![stage];
            let mut at = stage;
            while let Some(parent) = self.stage(&at.base) {
                assert!(
                    chain.len() <= self.stages.len(),
                    "the stages build on each other in a cycle"
                );
                chain.push(parent);
                at = parent;
            }
            chain.reverse();
            chain
        }

        /// The image the final stage produces, as it will run.
        pub fn image(&self) -> Image<'_> {
            let last = self.stages.last().expect("the Dockerfile has a FROM");
            let chain = self.chain(last);
            let mut image = Image {
                base: chain[0].base.clone(),
                stages: chain.clone(),
                user: None,
                workdir: None,
                entrypoint: None,
                cmd: None,
                env: BTreeMap::new(),
            };
            for stage in &chain {
                for ins in &stage.instructions {
                    match ins.keyword.as_str() {
                        "USER" => image.user = Some(ins.rest.clone()),
                        "WORKDIR" => image.workdir = Some(ins.rest.clone()),
                        // As the builder does: a new entrypoint drops the command
                        // inherited from the stage below.
                        "ENTRYPOINT" => {
                            image.entrypoint = Some(ins.clone());
                            image.cmd = None;
                        }
                        "CMD" => image.cmd = Some(ins.clone()),
                        "ENV" => {
                            for (name, value) in assignments(&ins.rest) {
                                let value = value.unwrap_or_else(|| {
                                    panic!("line {}: ENV {name} without =", ins.line)
                                });
                                image.env.insert(name, value);
                            }
                        }
                        _ => {}
                    }
                }
            }
            image
        }

        /// The build arguments and environment a stage's instructions see, with
        /// the defaults the file gives them.
        pub fn vars(&self, stage: &Stage) -> BTreeMap<String, String> {
            let mut vars = BTreeMap::new();
            for s in self.chain(stage) {
                for ins in &s.instructions {
                    match ins.keyword.as_str() {
                        "ARG" => {
                            for (name, value) in assignments(&ins.rest) {
                                let value = value
                                    .or_else(|| self.global_args.get(&name).cloned().flatten());
                                if let Some(v) = value {
                                    vars.insert(name, v);
                                }
                            }
                        }
                        "ENV" => {
                            for (name, value) in assignments(&ins.rest) {
                                vars.insert(name, value.unwrap_or_default());
                            }
                        }
                        _ => {}
                    }
                }
            }
            vars
        }
    }

    /// What the final stage amounts to.
    #[derive(Debug)]
    pub struct Image<'a> {
        /// The outside image the final stage builds on.
        pub base: String,
        /// The stages from that base up to the final one.
        pub stages: Vec<&'a Stage>,
        pub user: Option<String>,
        pub workdir: Option<String>,
        pub entrypoint: Option<Instruction>,
        pub cmd: Option<Instruction>,
        pub env: BTreeMap<String, String>,
    }
}

fn dockerfile() -> dockerfile::Dockerfile {
    dockerfile::parse(&read(&deploy().join("Dockerfile")))
}

/// A `COPY` or `ADD`: its sources and destination, variables filled in.
struct Copy {
    line: usize,
    from: Option<String>,
    sources: Vec<String>,
    dest: String,
}

fn copies(df: &dockerfile::Dockerfile, stage: &dockerfile::Stage) -> Vec<Copy> {
    let vars = df.vars(stage);
    stage
        .instructions
        .iter()
        .filter(|i| i.keyword == "COPY" || i.keyword == "ADD")
        .map(|i| {
            let mut words: Vec<String> = i
                .words()
                .iter()
                .map(|w| dockerfile::substitute(w, &vars, i.line))
                .collect();
            assert!(
                words.len() >= 2,
                "line {}: COPY needs a source and a destination",
                i.line
            );
            let dest = words.pop().expect("two words at least");
            Copy {
                line: i.line,
                from: i.flag("from").map(str::to_string),
                sources: words,
                dest,
            }
        })
        .collect()
}

/// The uid of a `USER` value (`uid` or `uid:gid`), insisting on numbers.
fn numeric_user(user: &str) -> (u32, Option<u32>) {
    let (uid, gid) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let number = |s: &str| -> u32 {
        s.parse().unwrap_or_else(|_| {
            panic!("USER {user}: give numbers, so that Kubernetes' runAsNonRoot can check them")
        })
    };
    (number(uid), gid.map(number))
}

/// The base images that carry no shell and no package manager and run a static binary.
fn is_minimal_static_base(image: &str) -> bool {
    image == "scratch"
        || image.starts_with("gcr.io/distroless/static")
        || image.starts_with("cgr.dev/chainguard/static")
}

// ---------------------------------------------------------------------------------
// .dockerignore: the builder's pattern matching, for the patterns that matter here.

fn segment_matches(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            segment_matches(&pattern[1..], name)
                || (!name.is_empty() && segment_matches(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => segment_matches(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => segment_matches(&pattern[1..], &name[1..]),
        _ => false,
    }
}

fn path_matches(pattern: &[&str], path: &[&str]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(&"**"), _) => {
            path_matches(&pattern[1..], path)
                || (!path.is_empty() && path_matches(pattern, &path[1..]))
        }
        (Some(p), Some(n)) => {
            segment_matches(p.as_bytes(), n.as_bytes()) && path_matches(&pattern[1..], &path[1..])
        }
        _ => false,
    }
}

/// Whether `.dockerignore` leaves `path` (relative to the context) out: a pattern
/// that matches the path or a folder above it excludes it, `!` includes it again, and
/// the last matching pattern decides.
fn dockerignored(ignore: &str, path: &str) -> bool {
    let segments: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let mut excluded = false;
    for line in ignore.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (negated, pattern) = match line.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, line),
        };
        let pattern: Vec<&str> = pattern.trim_matches('/').split('/').collect();
        let hit = (1..=segments.len()).any(|n| path_matches(&pattern, &segments[..n]));
        if hit {
            excluded = !negated;
        }
    }
    excluded
}

// ---------------------------------------------------------------------------------
// YAML helpers.

/// Every document of a YAML file; a file that does not parse fails the test.
fn yaml_docs(path: &Path) -> Vec<Yaml> {
    let text = read(path);
    let docs = yaml_rust2::YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
    assert!(
        !docs.is_empty(),
        "{} holds no YAML document",
        path.display()
    );
    docs
}

/// Plain (unquoted) scalars that YAML 1.1 reads as booleans and YAML 1.2 as strings.
/// Kubernetes reads manifests as YAML 1.1 and compose warns about `restart: no`: such a
/// value means different things to different readers, so it must be quoted.
fn ambiguous_scalars(text: &str) -> Vec<(usize, String)> {
    use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
    use yaml_rust2::scanner::{Marker, TScalarStyle};
    struct Sink(Vec<(usize, String)>);
    impl MarkedEventReceiver for Sink {
        fn on_event(&mut self, ev: Event, mark: Marker) {
            const YAML11_BOOLEANS: &[&str] = &[
                "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off",
                "Off", "OFF",
            ];
            if let Event::Scalar(value, TScalarStyle::Plain, _, None) = ev
                && YAML11_BOOLEANS.contains(&value.as_str())
            {
                self.0.push((mark.line(), value));
            }
        }
    }
    let mut sink = Sink(Vec::new());
    Parser::new_from_str(text)
        .load(&mut sink, true)
        .expect("the file parses");
    sink.0
}

fn str_of(y: &Yaml) -> Option<&str> {
    y.as_str()
}

fn items(y: &Yaml) -> &[Yaml] {
    y.as_vec().map(Vec::as_slice).unwrap_or(&[])
}

fn strings(y: &Yaml, what: &str) -> Vec<String> {
    items(y)
        .iter()
        .map(|i| {
            str_of(i)
                .unwrap_or_else(|| panic!("{what}: {i:?} is not a string (quote it)"))
                .to_string()
        })
        .collect()
}

fn keys(y: &Yaml) -> Vec<String> {
    y.as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------
// The Dockerfile.

#[test]
fn the_dockerfile_builds_in_its_own_stage_and_runs_on_a_minimal_base() {
    let df = dockerfile();
    assert!(
        df.stages.len() >= 2,
        "a builder stage and a final stage at least: the toolchain stays out of the image"
    );
    let image = df.image();
    assert!(
        is_minimal_static_base(&image.base),
        "the final image builds on {}; it should be scratch or a distroless/static base: \
         no shell, no package manager",
        image.base
    );
}

#[test]
fn the_image_runs_the_copied_binary_as_a_numeric_non_root_user() {
    let df = dockerfile();
    let image = df.image();

    let user = image.user.as_deref().expect("the final image sets USER");
    let (uid, gid) = numeric_user(user);
    assert_ne!(uid, 0, "USER {user}: the image must not run as root");
    assert_ne!(gid, Some(0), "USER {user}: nor with root's group");

    let entrypoint = image
        .entrypoint
        .as_ref()
        .expect("the image sets ENTRYPOINT");
    let entrypoint = entrypoint.exec_form().unwrap_or_else(|| {
        panic!(
            "line {}: ENTRYPOINT should be the exec form [\"/path/to/aludel\"]: the shell \
             form needs a shell the image does not have and swallows signals",
            entrypoint.line
        )
    });
    let [binary] = entrypoint.as_slice() else {
        panic!("ENTRYPOINT {entrypoint:?}: the binary alone, arguments come from CMD")
    };
    assert!(
        binary.starts_with('/'),
        "ENTRYPOINT {binary}: an absolute path"
    );

    // The binary is what a final-image stage copies from a stage that builds it.
    let copied = image
        .stages
        .iter()
        .flat_map(|s| copies(&df, s))
        .find(|c| c.dest == *binary)
        .unwrap_or_else(|| panic!("no COPY in the final image puts anything at {binary}"));
    let from = copied.from.as_deref().unwrap_or_else(|| {
        panic!(
            "line {}: {binary} should come --from the builder stage, not from the context",
            copied.line
        )
    });
    let builder = df
        .stage(from)
        .unwrap_or_else(|| panic!("line {}: --from={from} names no stage", copied.line));
    let build = builder
        .instructions
        .iter()
        .find(|i| i.keyword == "RUN" && i.rest.contains("cargo build"))
        .unwrap_or_else(|| panic!("stage {from} runs no cargo build"));
    let words = dockerfile::split_words(&build.rest);
    let has = |w: &str| words.iter().any(|x| x == w);
    assert!(
        has("--release"),
        "line {}: cargo build --release",
        build.line
    );
    assert!(
        has("--locked"),
        "line {}: cargo build --locked, so the image gets the versions in Cargo.lock",
        build.line
    );
    let package = words
        .windows(2)
        .find(|p| p[0] == "-p" || p[0] == "--package")
        .map(|p| p[1].as_str());
    assert_eq!(
        package,
        Some("aludel-cli"),
        "line {}: the build names the package that holds the aludel binary",
        build.line
    );
    let [source] = copied.sources.as_slice() else {
        panic!("line {}: one file, the binary", copied.line)
    };
    let produced = builder
        .instructions
        .iter()
        .any(|i| i.keyword == "RUN" && i.rest.contains(source.as_str()));
    assert!(
        produced,
        "line {}: nothing in stage {from} puts the binary at {source}",
        copied.line
    );
}

#[test]
fn the_default_command_is_upgrade_head() {
    let df = dockerfile();
    let image = df.image();
    let cmd = image.cmd.as_ref().expect("the image sets CMD");
    assert_eq!(
        cmd.exec_form(),
        Some(vec!["upgrade".to_string(), "head".to_string()]),
        "line {}: CMD [\"upgrade\", \"head\"]",
        cmd.line
    );
}

#[test]
fn every_file_the_dockerfile_copies_from_the_context_is_in_the_repository() {
    let df = dockerfile();
    let ignore = read(&repo().join(".dockerignore"));
    for path in [
        ".git",
        "target",
        "target-deploy/debug/aludel",
        "examples/bookstore/bookstore.db",
    ] {
        assert!(
            dockerignored(&ignore, path),
            ".dockerignore should leave out {path}"
        );
    }
    let mut seen = 0;
    for stage in &df.stages {
        for copy in copies(&df, stage).into_iter().filter(|c| c.from.is_none()) {
            for source in &copy.sources {
                seen += 1;
                assert!(
                    repo().join(source).exists(),
                    "line {}: COPY {source}: no such file in the repository",
                    copy.line
                );
                assert!(
                    !dockerignored(&ignore, source),
                    "line {}: COPY {source}, which .dockerignore leaves out of the context",
                    copy.line
                );
            }
        }
    }
    assert!(
        seen > 0,
        "the Dockerfile copies the workspace from the context"
    );
}

/// Lays out the image's /project as the Dockerfile does (every context COPY into a
/// path under the working directory), then runs the real binary there as the
/// container would: the image's CMD, its environment, the URL from DATABASE_URL.
/// Cargo loads every workspace member even to build one package, and the build
/// settings in `.cargo/` change the binary: the builder stage must copy them all.
#[test]
fn the_builder_stage_copies_every_workspace_member_and_the_build_settings() {
    let df = dockerfile();
    let builder = df
        .stages
        .iter()
        .find(|s| {
            s.instructions
                .iter()
                .any(|i| i.keyword == "RUN" && i.rest.contains("cargo build"))
        })
        .expect("a stage runs cargo build");
    let copied: Vec<String> = copies(&df, builder)
        .into_iter()
        .filter(|c| c.from.is_none())
        .flat_map(|c| c.sources)
        .map(|s| s.trim_end_matches('/').to_string())
        .collect();
    let covered = |path: &str| {
        copied
            .iter()
            .any(|c| path == c || path.starts_with(&format!("{c}/")))
    };
    let manifest: toml::Table = read(&repo().join("Cargo.toml"))
        .parse()
        .expect("the workspace Cargo.toml parses");
    let members = manifest["workspace"]["members"]
        .as_array()
        .expect("workspace.members is a list");
    assert!(!members.is_empty());
    for member in members {
        let member = member.as_str().expect("members are strings");
        assert!(
            covered(member),
            "the builder stage does not COPY workspace member {member}"
        );
    }
    for path in ["Cargo.toml", "Cargo.lock", ".cargo/config.toml"] {
        if repo().join(path).exists() {
            assert!(covered(path), "the builder stage does not COPY {path}");
        }
    }
}

#[test]
fn the_project_in_the_image_upgrades_a_fresh_database() {
    let df = dockerfile();
    let image = df.image();
    let workdir = image.workdir.clone().expect("the image sets WORKDIR");
    assert!(
        !image.env.contains_key("DATABASE_URL"),
        "the image sets DATABASE_URL: the URL (and its password) is given at run time, \
         never built into an image"
    );
    let root = tempfile::tempdir().expect("a temporary folder");
    let fs = root.path().join("image");
    let mut copied = 0;
    for stage in &image.stages {
        for copy in copies(&df, stage).into_iter().filter(|c| c.from.is_none()) {
            let [source] = copy.sources.as_slice() else {
                panic!("line {}: one source per COPY into the project", copy.line)
            };
            assert!(
                copy.dest.starts_with(&format!("{workdir}/")),
                "line {}: the project goes under WORKDIR {workdir}",
                copy.line
            );
            let to = fs.join(copy.dest.trim_start_matches('/'));
            copy_tree(&repo().join(source), &to);
            copied += 1;
        }
    }
    let project = fs.join(workdir.trim_start_matches('/'));
    assert!(
        copied > 0 && project.join("aludel.toml").is_file(),
        "the image holds {workdir}/aludel.toml"
    );

    let db = root.path().join("x.db");
    let url = format!("sqlite:///{}", db.display());
    let cmd = image
        .cmd
        .as_ref()
        .and_then(|c| c.exec_form())
        .expect("CMD in exec form");
    let run = |args: &[String]| {
        let mut command = Command::new(BIN);
        command.current_dir(&project).env_clear().envs(&image.env);
        command.env("DATABASE_URL", &url).args(args);
        let out = command.output().expect("aludel runs");
        let text = format!(
            "aludel {args:?} in {}:\nstdout:\n{}\nstderr:\n{}",
            project.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{text}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&cmd);
    assert!(
        db.is_file(),
        "the upgrade wrote to the database DATABASE_URL names"
    );
    let current = run(&["current".to_string()]);
    assert!(
        current.trim_end().ends_with("(head)"),
        "after the image's command the database is at head: {current}"
    );

    // The same check the way a person would type it, against the project folder itself.
    let dir = df
        .vars(df.stages.last().expect("stages"))
        .get("PROJECT")
        .cloned()
        .expect("the Dockerfile has a PROJECT build argument with a default");
    let other = root.path().join("y.db");
    let out = Command::new(BIN)
        .env_remove("DATABASE_URL")
        .env("ALUDEL_CACHE_DIR", "")
        .arg("-c")
        .arg(repo().join(&dir).join("aludel.toml"))
        .arg("--url")
        .arg(format!("sqlite:///{}", other.display()))
        .args(["upgrade", "head"])
        .output()
        .expect("aludel runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("create a folder");
        for entry in std::fs::read_dir(from).expect("read a folder") {
            let entry = entry.expect("a folder entry");
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("create a folder");
        std::fs::copy(from, to).expect("copy a file");
    }
}

// ---------------------------------------------------------------------------------
// compose.yaml

fn compose() -> Yaml {
    let docs = yaml_docs(&deploy().join("compose.yaml"));
    assert_eq!(docs.len(), 1, "compose.yaml is one document");
    docs.into_iter().next().expect("one document")
}

fn service<'a>(compose: &'a Yaml, name: &str) -> &'a Yaml {
    let s = &compose["services"][name];
    assert!(s.as_hash().is_some(), "compose.yaml has no service {name}");
    s
}

/// A service's environment, written as a map or as a list of NAME=value.
fn environment(service: &Yaml) -> BTreeMap<String, String> {
    let env = &service["environment"];
    if let Some(list) = env.as_vec() {
        list.iter()
            .filter_map(|i| i.as_str()?.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    } else {
        env.as_hash()
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn depends_on_condition<'a>(service: &'a Yaml, on: &str) -> Option<&'a str> {
    service["depends_on"][on]["condition"].as_str()
}

#[test]
fn compose_starts_postgres_then_migrations_then_the_app() {
    let c = compose();
    let postgres = service(&c, "postgres");
    let migrate = service(&c, "migrate");
    let app = service(&c, "app");

    let test = strings(
        &postgres["healthcheck"]["test"],
        "postgres healthcheck test",
    );
    assert!(
        test.iter().any(|w| w.contains("pg_isready")),
        "postgres needs a healthcheck with pg_isready, or service_healthy never comes: {test:?}"
    );
    assert_eq!(
        depends_on_condition(migrate, "postgres"),
        Some("service_healthy"),
        "migrate waits for postgres to be healthy"
    );
    assert_eq!(
        depends_on_condition(app, "migrate"),
        Some("service_completed_successfully"),
        "the app starts only after the migrations exited 0"
    );
    assert_eq!(
        migrate["restart"].as_str(),
        Some("no"),
        "migrate runs once: restart: \"no\" (quoted)"
    );

    // Every dependency names a service (the compose-spec schema checks the
    // conditions, but cannot tell what the services are).
    let services = keys(&c["services"]);
    for name in &services {
        for on in keys(&c["services"][name.as_str()]["depends_on"]) {
            assert!(
                services.contains(&on),
                "{name} depends on {on}, which is no service"
            );
        }
    }

    // Named volumes are declared.
    for volume in strings(&postgres["volumes"], "postgres volumes") {
        let name = volume.split(':').next().expect("a volume source");
        if !name.starts_with('.') && !name.starts_with('/') {
            assert!(
                keys(&c["volumes"]).contains(&name.to_string()),
                "volume {name} is not declared"
            );
        }
    }
}

/// `scheme://user:password@host:port/database?query`, split by hand: the password
/// may be a compose `${...}` expression, which no URL parser accepts.
struct DbUrl {
    scheme: String,
    user: String,
    password: String,
    host: String,
    port: Option<u16>,
    database: String,
}

fn split_url(url: &str) -> DbUrl {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("{url}: no scheme"));
    let (userinfo, hostpart) = rest
        .rsplit_once('@')
        .unwrap_or_else(|| panic!("{url}: no user"));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let hostpart = hostpart.split('?').next().unwrap_or_default();
    let (authority, database) = hostpart.split_once('/').unwrap_or((hostpart, ""));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            Some(p.parse().unwrap_or_else(|_| panic!("{url}: port {p}"))),
        ),
        None => (authority, None),
    };
    DbUrl {
        scheme: scheme.to_string(),
        user: user.to_string(),
        password: password.to_string(),
        host: host.to_string(),
        port,
        database: database.to_string(),
    }
}

#[test]
fn compose_points_the_migrations_at_the_postgres_service() {
    let c = compose();
    let pg_env = environment(service(&c, "postgres"));
    let migrate = service(&c, "migrate");
    let env = environment(migrate);
    let url = env.get("DATABASE_URL").expect("migrate sets DATABASE_URL");
    let url = split_url(url);
    assert!(
        matches!(url.scheme.as_str(), "postgresql" | "postgres"),
        "DATABASE_URL is a PostgreSQL URL"
    );
    assert_eq!(
        url.host, "postgres",
        "DATABASE_URL's host is the postgres service"
    );
    assert!(
        matches!(url.port, None | Some(5432)),
        "the server's own port inside the network"
    );
    assert_eq!(
        Some(&url.user),
        pg_env.get("POSTGRES_USER"),
        "the user postgres creates"
    );
    assert_eq!(
        Some(&url.database),
        pg_env.get("POSTGRES_DB"),
        "the database postgres creates"
    );

    let password = pg_env
        .get("POSTGRES_PASSWORD")
        .expect("postgres sets POSTGRES_PASSWORD");
    assert!(
        password.starts_with("${POSTGRES_PASSWORD"),
        "the password comes from the environment (with a local default), not the file: {password}"
    );
    assert_eq!(
        &url.password, password,
        "DATABASE_URL uses the same password expression"
    );
}

#[test]
fn compose_builds_the_migrations_image_from_the_dockerfile() {
    let c = compose();
    let migrate = service(&c, "migrate");
    let build = &migrate["build"];
    let context = deploy().join(
        build["context"]
            .as_str()
            .expect("migrate builds from a context"),
    );
    let context = context.canonicalize().expect("the build context exists");
    assert_eq!(
        context,
        repo(),
        "the context is the repository root, as the Dockerfile expects"
    );
    let dockerfile_path = build["dockerfile"]
        .as_str()
        .expect("migrate names its Dockerfile");
    assert_eq!(
        context.join(dockerfile_path).canonicalize().ok(),
        deploy().join("Dockerfile").canonicalize().ok(),
        "migrate builds deploy/Dockerfile"
    );
    if let Some(project) = build["args"]["PROJECT"].as_str() {
        let project = repo().join(project);
        assert!(
            project.join("aludel.toml").is_file() && project.join("migrations").is_dir(),
            "the PROJECT build argument names a project folder: {}",
            project.display()
        );
    }

    // The image's own entrypoint and command, or the same.
    let df = dockerfile();
    let image = df.image();
    let entrypoint = image
        .entrypoint
        .and_then(|e| e.exec_form())
        .expect("ENTRYPOINT");
    if !migrate["entrypoint"].is_badvalue() {
        assert_eq!(
            strings(&migrate["entrypoint"], "migrate entrypoint"),
            entrypoint
        );
    }
    if !migrate["command"].is_badvalue() {
        let command = strings(&migrate["command"], "migrate command (a list)");
        assert!(
            command.ends_with(&["upgrade".into(), "head".into()]),
            "migrate runs upgrade head: {command:?}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Kubernetes

fn manifests() -> Vec<(String, Vec<Yaml>)> {
    let dir = deploy().join("kubernetes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("deploy/kubernetes exists")
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "deploy/kubernetes holds manifests");
    files
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (name, yaml_docs(p))
        })
        .collect()
}

fn all_documents() -> Vec<(String, Yaml)> {
    manifests()
        .into_iter()
        .flat_map(|(file, docs)| docs.into_iter().map(move |d| (file.clone(), d)))
        .collect()
}

/// The pod template of a workload, if it is one.
fn pod_spec(doc: &Yaml) -> Option<&Yaml> {
    let spec = match doc["kind"].as_str()? {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicaSet" => {
            &doc["spec"]["template"]["spec"]
        }
        "CronJob" => &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        "Pod" => &doc["spec"],
        _ => return None,
    };
    Some(spec)
}

/// `(file, kind/name, init?, container, pod spec)` for every container of every workload.
fn containers(docs: &[(String, Yaml)]) -> Vec<(String, String, bool, &Yaml, &Yaml)> {
    let mut out = Vec::new();
    for (file, doc) in docs {
        let Some(spec) = pod_spec(doc) else { continue };
        let what = format!(
            "{}/{}",
            doc["kind"].as_str().unwrap_or("?"),
            doc["metadata"]["name"].as_str().unwrap_or("?")
        );
        for (init, list) in [
            (true, &spec["initContainers"]),
            (false, &spec["containers"]),
        ] {
            for c in items(list) {
                out.push((file.clone(), what.clone(), init, c, spec));
            }
        }
    }
    out
}

/// The aludel image, as compose builds and names it: every manifest runs the same.
fn aludel_image() -> String {
    compose()["services"]["migrate"]["image"]
        .as_str()
        .expect("compose names the image it builds for migrate")
        .to_string()
}

fn secrets(docs: &[(String, Yaml)]) -> BTreeMap<String, BTreeSet<String>> {
    docs.iter()
        .filter(|(_, d)| d["kind"].as_str() == Some("Secret"))
        .map(|(_, d)| {
            let name = d["metadata"]["name"]
                .as_str()
                .expect("a Secret has a name")
                .to_string();
            let keys = keys(&d["data"])
                .into_iter()
                .chain(keys(&d["stringData"]))
                .collect();
            (name, keys)
        })
        .collect()
}

fn env_var<'a>(container: &'a Yaml, name: &str) -> Option<&'a Yaml> {
    items(&container["env"])
        .iter()
        .find(|e| e["name"].as_str() == Some(name))
}

/// `$(NAME)` references in a Kubernetes command, argument or env value.
fn dependent_vars(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("$(") {
        let after = &rest[at + 2..];
        let end = after
            .find(')')
            .unwrap_or_else(|| panic!("unclosed $( in {text}"));
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// `${NAME}` references in a targets file (aludel's own expansion).
fn env_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        let after = &rest[at + 2..];
        let end = after
            .find('}')
            .unwrap_or_else(|| panic!("unclosed ${{ in {text}"));
        out.insert(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

#[test]
fn no_yaml_file_holds_an_unquoted_yes_or_no() {
    let mut files = vec![deploy().join("compose.yaml")];
    files.extend(
        std::fs::read_dir(deploy().join("kubernetes"))
            .expect("deploy/kubernetes")
            .map(|e| e.expect("an entry").path()),
    );
    for file in files {
        let found = ambiguous_scalars(&read(&file));
        assert!(
            found.is_empty(),
            "{}: quote these, YAML 1.1 reads them as booleans: {found:?}",
            file.display()
        );
    }
}

#[test]
fn every_aludel_container_takes_its_database_url_from_a_secret() {
    let docs = all_documents();
    let image = aludel_image();
    let secrets = secrets(&docs);
    let mut aludel = 0;
    for (file, what, _, c, _) in containers(&docs) {
        let name = c["name"].as_str().unwrap_or("?");
        // Whatever the container: each secretKeyRef names a key of an example Secret.
        for e in items(&c["env"]) {
            let r = &e["valueFrom"]["secretKeyRef"];
            if r.is_badvalue() {
                continue;
            }
            let (secret, key) = (
                r["name"].as_str().unwrap_or("?"),
                r["key"].as_str().unwrap_or("?"),
            );
            assert!(
                secrets.get(secret).is_some_and(|k| k.contains(key)),
                "{file} {what} {name}: secretKeyRef {secret}/{key} is in no example Secret"
            );
        }
        if c["image"].as_str() != Some(image.as_str()) {
            continue;
        }
        aludel += 1;
        let args = strings(&c["args"], &format!("{file} {what} {name} args"));
        if args.iter().any(|a| a == "--targets") {
            continue; // the fleet: checked with its targets file below
        }
        let url = env_var(c, "DATABASE_URL")
            .unwrap_or_else(|| panic!("{file} {what} {name}: no DATABASE_URL"));
        assert!(
            !url["valueFrom"]["secretKeyRef"].is_badvalue(),
            "{file} {what} {name}: DATABASE_URL should come from a Secret (valueFrom.secretKeyRef), \
             not stand in the manifest"
        );
    }
    assert!(aludel > 0, "no container runs {image}");
}

#[test]
fn every_aludel_container_runs_the_image_entrypoint_locked_down_and_limited() {
    let docs = all_documents();
    let image = aludel_image();
    let df = dockerfile();
    let df_image = df.image();
    let (image_uid, _) = numeric_user(df_image.user.as_deref().expect("USER"));
    let entrypoint = df_image
        .entrypoint
        .and_then(|e| e.exec_form())
        .expect("ENTRYPOINT");

    let mut files_with_aludel = BTreeSet::new();
    for (file, what, _, c, pod) in containers(&docs) {
        let name = c["name"].as_str().unwrap_or("?");
        let at = format!("{file} {what} container {name}");
        for field in ["command", "args"] {
            for a in strings(&c[field], &format!("{at} {field}")) {
                for var in dependent_vars(&a) {
                    assert!(
                        env_var(c, &var).is_some(),
                        "{at}: $({var}) in {field} is not an env var of the container, \
                         so Kubernetes would pass it on as written"
                    );
                }
            }
        }
        if c["image"].as_str() != Some(image.as_str()) {
            assert!(
                !c["image"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("migrations"),
                "{at}: image {:?} looks like aludel's but is not {image}",
                c["image"]
            );
            continue;
        }
        files_with_aludel.insert(file.clone());

        if !c["command"].is_badvalue() {
            assert_eq!(
                strings(&c["command"], &at),
                entrypoint,
                "{at}: command replaces the image's entrypoint"
            );
        }
        let args = strings(&c["args"], &at);
        assert!(
            args.ends_with(&["upgrade".into(), "head".into()]),
            "{at}: args end with upgrade head: {args:?}"
        );

        let resources = &c["resources"];
        for (kind, fields) in [
            ("requests", &["cpu", "memory"][..]),
            ("limits", &["memory"][..]),
        ] {
            for field in fields {
                assert!(
                    !resources[kind][*field].is_badvalue(),
                    "{at}: resources.{kind}.{field} is not set"
                );
            }
        }

        // The container's securityContext over the pod's.
        let setting = |key: &str| {
            let own = &c["securityContext"][key];
            if own.is_badvalue() {
                &pod["securityContext"][key]
            } else {
                own
            }
        };
        assert_eq!(
            setting("runAsNonRoot").as_bool(),
            Some(true),
            "{at}: runAsNonRoot: true"
        );
        assert_eq!(
            c["securityContext"]["readOnlyRootFilesystem"].as_bool(),
            Some(true),
            "{at}: readOnlyRootFilesystem: true"
        );
        assert_eq!(
            c["securityContext"]["allowPrivilegeEscalation"].as_bool(),
            Some(false),
            "{at}: allowPrivilegeEscalation: false"
        );
        let drop = strings(&c["securityContext"]["capabilities"]["drop"], &at);
        assert!(
            drop.iter().any(|d| d == "ALL"),
            "{at}: capabilities.drop: [ALL]"
        );
        if let Some(uid) = setting("runAsUser").as_i64() {
            assert_ne!(uid, 0, "{at}: runAsUser 0 is root");
            assert_eq!(
                uid,
                i64::from(image_uid),
                "{at}: runAsUser is the image's USER"
            );
        }
    }

    // Every file that runs a workload runs aludel in it.
    for (file, docs) in manifests() {
        if docs.iter().any(|d| pod_spec(d).is_some()) {
            assert!(
                files_with_aludel.contains(&file),
                "{file}: no container runs {image}"
            );
        }
    }
}

#[test]
fn the_deployment_migrates_in_an_init_container() {
    let docs = all_documents();
    let image = aludel_image();
    let deployments: Vec<_> = docs
        .iter()
        .filter(|(_, d)| d["kind"].as_str() == Some("Deployment"))
        .collect();
    assert!(
        !deployments.is_empty(),
        "an example Deployment with an init container"
    );
    for (file, d) in deployments {
        let spec = pod_spec(d).expect("a pod template");
        let init = items(&spec["initContainers"]);
        assert!(
            init.iter()
                .any(|c| c["image"].as_str() == Some(image.as_str())),
            "{file}: aludel runs as an init container, so the app starts only after it exited 0"
        );
        assert!(
            items(&spec["containers"])
                .iter()
                .all(|c| c["image"].as_str() != Some(image.as_str())),
            "{file}: aludel as a long-running container would exit and be restarted forever"
        );
    }
}

#[test]
fn the_jobs_have_a_retry_limit_and_never_restart_in_place() {
    let docs = all_documents();
    let jobs: Vec<_> = docs
        .iter()
        .filter(|(_, d)| d["kind"].as_str() == Some("Job"))
        .collect();
    assert!(jobs.len() >= 2, "a standalone Job and an Indexed fleet Job");
    for (file, job) in jobs {
        let at = format!(
            "{file} Job/{}",
            job["metadata"]["name"].as_str().unwrap_or("?")
        );
        let spec = &job["spec"];
        let backoff = spec["backoffLimit"].as_i64();
        assert!(
            backoff.is_some_and(|b| b >= 0),
            "{at}: backoffLimit is set (the default retries 6 times)"
        );
        assert!(
            spec["activeDeadlineSeconds"]
                .as_i64()
                .is_some_and(|s| s > 0),
            "{at}: activeDeadlineSeconds"
        );
        assert!(
            spec["ttlSecondsAfterFinished"].as_i64().is_some(),
            "{at}: ttlSecondsAfterFinished"
        );
        assert_eq!(
            spec["template"]["spec"]["restartPolicy"].as_str(),
            Some("Never"),
            "{at}: restartPolicy Never: every attempt is a new pod whose log is kept"
        );
    }
}

#[test]
fn the_fleet_job_gives_each_pod_one_shard_of_the_targets_file() {
    let docs = all_documents();
    let image = aludel_image();
    let secrets = secrets(&docs);
    let indexed: Vec<_> = docs
        .iter()
        .filter(|(_, d)| {
            d["kind"].as_str() == Some("Job")
                && d["spec"]["completionMode"].as_str() == Some("Indexed")
        })
        .collect();
    assert!(!indexed.is_empty(), "an Indexed Job for the fleet");
    for (file, job) in indexed {
        let spec = &job["spec"];
        let completions = spec["completions"]
            .as_i64()
            .expect("an Indexed Job sets completions");
        let parallelism = spec["parallelism"].as_i64().expect("parallelism is set");
        assert!(
            (1..=completions).contains(&parallelism),
            "{file}: parallelism {parallelism} between 1 and completions {completions}"
        );
        let pod = &spec["template"]["spec"];
        let c = items(&pod["containers"])
            .iter()
            .find(|c| c["image"].as_str() == Some(image.as_str()))
            .unwrap_or_else(|| panic!("{file}: no container runs {image}"));
        let args = strings(&c["args"], file);
        let value = |flag: &str| -> String {
            let at = args
                .iter()
                .position(|a| a == flag)
                .unwrap_or_else(|| panic!("{file}: no {flag} in {args:?}"));
            args.get(at + 1)
                .cloned()
                .unwrap_or_else(|| panic!("{file}: {flag} without a value"))
        };

        // --shard index:$(JOB_COMPLETION_INDEX)/N with N = completions.
        let shard = value("--shard");
        let n = shard
            .strip_prefix("index:$(JOB_COMPLETION_INDEX)/")
            .unwrap_or_else(|| {
                panic!("{file}: --shard {shard}: expected index:$(JOB_COMPLETION_INDEX)/N")
            });
        assert_eq!(
            n.parse::<i64>().ok(),
            Some(completions),
            "{file}: --shard {shard} cuts {n} slices but the Job runs {completions} indexes"
        );
        let jobs = value("--jobs");
        assert!(
            jobs.parse::<u32>().is_ok_and(|j| j >= 1),
            "{file}: --jobs {jobs}"
        );

        // --targets FILE is a key of a mounted ConfigMap.
        let targets = PathBuf::from(value("--targets"));
        let (dir, key) = (
            targets
                .parent()
                .expect("a folder")
                .to_string_lossy()
                .into_owned(),
            targets
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned(),
        );
        let mount = items(&c["volumeMounts"])
            .iter()
            .find(|m| m["mountPath"].as_str() == Some(dir.as_str()))
            .unwrap_or_else(|| panic!("{file}: nothing is mounted at {dir}"));
        let volume_name = mount["name"].as_str().expect("a mount names a volume");
        let volume = items(&pod["volumes"])
            .iter()
            .find(|v| v["name"].as_str() == Some(volume_name))
            .unwrap_or_else(|| panic!("{file}: no volume {volume_name}"));
        let map_name = volume["configMap"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: volume {volume_name} is not a ConfigMap"));
        let map = docs
            .iter()
            .find(|(_, d)| {
                d["kind"].as_str() == Some("ConfigMap")
                    && d["metadata"]["name"].as_str() == Some(map_name)
            })
            .map(|(_, d)| d)
            .unwrap_or_else(|| panic!("{file}: no ConfigMap {map_name} among the manifests"));
        let text = map["data"][key.as_str()]
            .as_str()
            .unwrap_or_else(|| panic!("ConfigMap {map_name} has no key {key}"));

        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(
            lines.len() as i64 >= completions,
            "{map_name}/{key}: {} databases for {completions} pods leaves some pods idle",
            lines.len()
        );
        for line in &lines {
            let userinfo = line
                .split_once("://")
                .and_then(|(_, rest)| Some(rest.rsplit_once('@')?.0));
            if let Some((_, password)) = userinfo.and_then(|u| u.split_once(':')) {
                assert!(
                    password.starts_with("${"),
                    "{map_name}/{key}: a password in the ConfigMap; it belongs in a Secret"
                );
            }
        }
        let refs = env_refs(text);
        assert!(
            !refs.is_empty(),
            "{map_name}/{key}: the URLs come from env vars set from a Secret"
        );
        for var in refs {
            let e = env_var(c, &var).unwrap_or_else(|| {
                panic!("{file}: {map_name}/{key} uses ${{{var}}}, which the pod does not set")
            });
            let r = &e["valueFrom"]["secretKeyRef"];
            let (secret, k) = (
                r["name"].as_str().unwrap_or("?"),
                r["key"].as_str().unwrap_or("?"),
            );
            assert!(
                secrets.get(secret).is_some_and(|keys| keys.contains(k)),
                "{file}: {var} should come from a Secret key that exists (secretKeyRef {secret}/{k})"
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// The tools platforms use: hadolint, kubernetes-validate and check-jsonschema with the
// compose-spec schema. `scripts/test` installs them, pinned, in
// target/deploy-tools-venv and says where in ALUDEL_DEPLOY_TOOLS; without them these
// tests fail, saying so. Each oracle is also shown a broken file, so that a tool that
// checked nothing would fail its test.

/// The oldest Kubernetes release the manifests are for: the fleet Job's
/// `backoffLimitPerIndex` is on by default from 1.29 (beta; GA in 1.33).
const OLDEST_KUBERNETES_MINOR: u32 = 29;

fn tool(name: &str) -> PathBuf {
    let dir = std::env::var_os("ALUDEL_DEPLOY_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/deploy-tools-venv/bin"));
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: scripts/test installs hadolint, kubernetes-validate and \
         check-jsonschema there (or set ALUDEL_DEPLOY_TOOLS to a folder that holds them)",
        path.display()
    );
    path
}

/// Runs a tool: its exit code, and what it printed (stdout, then stderr).
fn run_tool(name: &str, args: &[&std::ffi::OsStr]) -> (i32, String) {
    let mut command = Command::new(tool(name));
    command.args(args);
    // A hadolint setting from the environment would change what it reports.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HADOLINT_") {
            command.env_remove(key);
        }
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// hadolint on `dockerfile` with every rule at its default severity, failing on any
/// finding, whatever configuration the machine has.
fn hadolint(dockerfile: &Path) -> (i32, String) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let config = dir.path().join("hadolint.yaml");
    std::fs::write(&config, "failure-threshold: style\n").expect("write the config");
    run_tool(
        "hadolint",
        &[
            "--no-color".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
            dockerfile.as_os_str(),
        ],
    )
}

#[test]
fn hadolint_finds_nothing_in_the_dockerfile() {
    let (code, out) = hadolint(&deploy().join("Dockerfile"));
    assert_eq!((code, out.as_str()), (0, ""), "hadolint deploy/Dockerfile");
}

/// The one rule the Dockerfile turns off is DL3018 (unpinned `apk add`), with its
/// reason in the comment above; without the pragma hadolint reports it.
#[test]
fn the_dockerfiles_only_hadolint_exception_is_the_explained_unpinned_apk_add() {
    let text = read(&deploy().join("Dockerfile"));
    let lines: Vec<&str> = text.lines().collect();
    let mut ignored = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rules) = line.trim().strip_prefix("# hadolint ignore=") else {
            continue;
        };
        ignored.extend(rules.split(',').map(|r| r.trim().to_string()));
        assert!(
            i > 0 && lines[i - 1].trim().starts_with('#') && lines[i - 1].len() > 2,
            "line {}: a hadolint exception needs a comment above it saying why",
            i + 1
        );
        assert!(
            lines
                .get(i + 1)
                .is_some_and(|l| l.starts_with("RUN apk add")),
            "line {}: the exception is for the apk add that follows",
            i + 1
        );
    }
    assert_eq!(ignored, ["DL3018"]);

    let dir = tempfile::tempdir().expect("a temporary folder");
    let unexcused = dir.path().join("Dockerfile");
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("# hadolint ignore="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&unexcused, stripped).expect("write the copy");
    let (code, out) = hadolint(&unexcused);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("DL3018"), "{out}");
}

fn manifest_files() -> Vec<PathBuf> {
    let dir = deploy().join("kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("deploy/kubernetes exists")
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

/// kubernetes-validate in strict mode (unknown fields are errors) for one release.
fn kubernetes_validate(minor: u32, files: &[PathBuf]) -> (i32, String) {
    let version = format!("1.{minor}");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--strict".as_ref(),
        "--quiet".as_ref(),
        "--kubernetes-version".as_ref(),
        version.as_ref(),
    ];
    args.extend(files.iter().map(|f| f.as_os_str()));
    run_tool("kubernetes-validate", &args)
}

/// The newest Kubernetes release kubernetes-validate has schemas for: the one it
/// validates against by default.
fn newest_known_kubernetes_minor() -> u32 {
    let secret = deploy().join("kubernetes/secret.yaml");
    let (code, out) = run_tool("kubernetes-validate", &[secret.as_os_str()]);
    assert_eq!(code, 0, "{out}");
    let version = out
        .split("against version ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("kubernetes-validate names no version: {out}"));
    version
        .strip_prefix("1.")
        .and_then(|minor| minor.split('.').next()?.parse().ok())
        .unwrap_or_else(|| panic!("kubernetes-validate's version: {version}"))
}

#[test]
fn the_manifests_validate_for_every_kubernetes_from_the_oldest_supported_to_the_newest_known() {
    let files = manifest_files();
    assert!(files.len() >= 4, "the manifests: {files:?}");
    let newest = newest_known_kubernetes_minor();
    assert!(
        newest > OLDEST_KUBERNETES_MINOR,
        "kubernetes-validate knows 1.{newest} at most"
    );
    // One process per release, run side by side.
    let results: Vec<(u32, i32, String)> = std::thread::scope(|scope| {
        let runs: Vec<_> = (OLDEST_KUBERNETES_MINOR..=newest)
            .map(|minor| {
                let files = &files;
                scope.spawn(move || {
                    let (code, out) = kubernetes_validate(minor, files);
                    (minor, code, out)
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("a validation thread"))
            .collect()
    });
    let failures: Vec<String> = results
        .into_iter()
        .filter(|(_, code, out)| *code != 0 || out.contains("ERROR"))
        .map(|(minor, _, out)| format!("Kubernetes 1.{minor}:\n{out}"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The documentation states the same oldest release.
    let minimum = format!("Kubernetes 1.{OLDEST_KUBERNETES_MINOR} or newer");
    assert!(
        read(&deploy().join("README.md")).contains(&minimum),
        "deploy/README.md says {minimum:?}"
    );
}

/// Up to 1.34 a pod-condition rule needs its status: the manifests once lacked it.
#[test]
fn kubernetes_validate_refuses_a_pod_condition_rule_without_its_status() {
    let job = read(&deploy().join("kubernetes/job.yaml"));
    let without: String = job
        .lines()
        .filter(|l| l.trim() != "status: \"True\"")
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(
        without, job,
        "job.yaml gives the DisruptionTarget rule a status"
    );
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("job.yaml");
    std::fs::write(&path, without).expect("write the copy");
    let (code, out) = kubernetes_validate(OLDEST_KUBERNETES_MINOR, &[path]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("'status' is a required property"), "{out}");
}

fn check_compose(path: &Path) -> (i32, String) {
    run_tool(
        "check-jsonschema",
        &[
            "--builtin-schema".as_ref(),
            "vendor.compose-spec".as_ref(),
            path.as_os_str(),
        ],
    )
}

#[test]
fn compose_validates_against_the_compose_spec_schema() {
    let compose = deploy().join("compose.yaml");
    let (code, out) = check_compose(&compose);
    assert_eq!(code, 0, "{out}");

    // A condition compose does not know is refused.
    let text = read(&compose);
    let broken = text.replace("service_completed_successfully", "service_completed");
    assert_ne!(broken, text);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("compose.yaml");
    std::fs::write(&path, broken).expect("write the copy");
    let (code, out) = check_compose(&path);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("service_completed"), "{out}");
}

// ---------------------------------------------------------------------------------
// The documentation.

#[test]
fn the_deploy_readme_describes_every_file() {
    let readme = read(&deploy().join("README.md"));
    let mut files = Vec::new();
    let mut stack = vec![deploy()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "README.md") {
                files.push(
                    path.strip_prefix(deploy())
                        .expect("under deploy")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    for file in files {
        assert!(
            readme.contains(&file),
            "deploy/README.md does not mention {file}"
        );
    }
    let top = read(&repo().join("README.md"));
    let deploying = top
        .find("## Deploying")
        .expect("README.md has a Deploying section");
    let benchmarks = top
        .find("## Benchmarks")
        .expect("README.md has a Benchmarks section");
    assert!(
        deploying < benchmarks,
        "Deploying comes before Benchmarks in README.md"
    );
    assert!(
        top[deploying..benchmarks].contains("deploy/README.md"),
        "the Deploying section links deploy/README.md"
    );
}

// ---------------------------------------------------------------------------------
// The readers themselves: a reader that saw nothing would let every check pass.

#[test]
fn the_dockerfile_reader_joins_lines_and_skips_comments() {
    let df = dockerfile::parse(
        "# syntax=docker/dockerfile:1\nARG V=1\nFROM img:${V} AS b\nRUN a \\\n  # note\n  --x \\\n  y\nFROM scratch\nCOPY --from=b /o /p\nENTRYPOINT [\"/p\"]\n",
    );
    assert_eq!(df.stages.len(), 2);
    assert_eq!(df.stages[0].base, "img:1");
    assert_eq!(df.stages[0].name.as_deref(), Some("b"));
    assert_eq!(
        dockerfile::split_words(&df.stages[0].instructions[0].rest),
        ["a", "--x", "y"]
    );
    let image = df.image();
    assert_eq!(image.base, "scratch");
    assert_eq!(
        image.entrypoint.and_then(|e| e.exec_form()),
        Some(vec!["/p".to_string()])
    );
    assert_eq!(df.stages[1].instructions[0].flag("from"), Some("b"));
}

#[test]
fn the_dockerignore_reader_follows_the_builders_rules() {
    let ignore = "target\n**/*.db\n!keep.db\n";
    assert!(dockerignored(ignore, "target/release/aludel"));
    assert!(dockerignored(ignore, "examples/x/y.db"));
    assert!(!dockerignored(ignore, "keep.db"));
    assert!(!dockerignored(ignore, "crates"));
}

#[test]
fn the_yaml_lint_finds_an_unquoted_no() {
    assert_eq!(
        ambiguous_scalars("restart: no\nother: \"no\"\n"),
        [(1, "no".to_string())]
    );
}
