//! The desired schema as the standard output of a command (`[autogenerate]
//! schema_command`): models kept in code, such as an ORM's metadata, printed as DDL
//! by the team's own tooling. The command runs in the project's folder with no input;
//! what it prints on standard error is shown only when it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::AutogenError;
use crate::config::SchemaCommand;

/// How many of the last lines of a failed command's standard error a message shows.
const STDERR_LINES: usize = 20;

/// The command as messages show it: as written in `aludel.toml`, so a secret given
/// to it through `${ENV}` is never printed.
/// Each argument is quoted as a POSIX shell would need it, so that where one ends is
/// clear, with its control characters escaped (a newline as `\n`) and a long one cut.
pub fn shown(command: &SchemaCommand) -> String {
    command
        .as_written
        .iter()
        .map(|arg| shell_quoted(&crate::text::one_line(arg, 200)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `arg` as a POSIX shell word: as it is when it holds only characters no shell
/// treats specially, else in single quotes (a quote inside as `'\''`).
fn shell_quoted(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The name that stands for the command's output where a file's would be
/// (`<that>:LINE: ...` in messages, and in the desired cache's key).
pub fn output_name(command: &SchemaCommand) -> PathBuf {
    PathBuf::from(format!("output of `{}`", shown(command)))
}

/// Runs the command in `dir` and returns what it printed on standard output.
pub fn run(command: &SchemaCommand, dir: &Path) -> Result<String, AutogenError> {
    let failed = |problem: String| AutogenError::SchemaCommand {
        command: shown(command),
        problem,
    };
    let Some((program, args)) = command.command.split_first() else {
        return Err(failed("names no program".into()));
    };
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| failed(format!("could not start: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.trim_end().lines().collect();
        let tail = &lines[lines.len().saturating_sub(STDERR_LINES)..];
        let said = if tail.is_empty() {
            "it printed nothing on standard error".to_string()
        } else {
            let cut = if lines.len() > tail.len() {
                format!(" (its last {} lines)", tail.len())
            } else {
                String::new()
            };
            format!(
                "it printed on standard error{cut}:\n{}",
                tail.iter()
                    .map(|l| format!("    {}", crate::text::one_line(l, 400)))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        };
        return Err(failed(format!("failed ({}); {said}", output.status)));
    }
    String::from_utf8(output.stdout).map_err(|e| {
        failed(format!(
            "printed something that is not UTF-8 (at byte {}): the desired schema is SQL text",
            e.utf8_error().valid_up_to()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_shown_as_a_shell_would_read_it() {
        let command = |args: &[&str]| SchemaCommand {
            command: Vec::new(),
            as_written: args.iter().map(|a| a.to_string()).collect(),
        };
        assert_eq!(
            shown(&command(&["python", "-m", "app.schema", "postgresql"])),
            "python -m app.schema postgresql"
        );
        assert_eq!(
            shown(&command(&["sh", "-c", "echo 'a b' >&2", "", "${TOKEN}"])),
            r#"sh -c 'echo '\''a b'\'' >&2' '' '${TOKEN}'"#
        );
    }
}
