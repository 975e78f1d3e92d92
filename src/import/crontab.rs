//! Reading crontabs: user crontabs (`crontab -l`) and, with [`Format::System`], the format with
//! a user field (`/etc/crontab`, `/etc/cron.d/*`), as Vixie cron (Debian's) reads them.
//!
//! - Blank lines and lines whose first non-blank character is `#` are ignored (cron has no
//!   comments after an entry).
//! - `NAME = VALUE` lines set a variable for the entries that follow (quotes around the value
//!   are removed). `SHELL` chooses the shell of the following entries, `CRON_TZ` their time
//!   zone, `MAILTO` is noted and dropped (Rota records output instead of mailing it), and every
//!   other variable (`PATH` included) is passed to the jobs.
//! - Entries are five time fields or a macro (`@daily`, ...), then the user (system format),
//!   then the command. `@reboot` has no schedule: such entries are reported and skipped.
//! - In the command, the first `%` not escaped by a backslash ends the command; the rest is the
//!   command's standard input with every further `%` turned into a newline, and `\%` is a
//!   literal `%` in both parts (Vixie's rule).
//! - A line ending in a backslash is reported: cron has no line continuation, so the backslash
//!   stays in the command and the next line is an entry of its own.
//!
//! [`parse`] is pure and checks every line (schedules with the cron engine, zones, variables);
//! any invalid line makes the whole crontab invalid, and the error names each bad line.

use std::collections::BTreeMap;
use std::fmt;

use crate::cron::Schedule;

/// Which crontab format to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `m h dom mon dow command`.
    User,
    /// `m h dom mon dow user command` (`/etc/crontab`, `/etc/cron.d/*`).
    System,
}

/// One entry with a schedule, ready to become a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number in the file.
    pub line: usize,
    /// The five fields joined by single spaces, or the macro (`@daily`).
    pub schedule: String,
    /// `CRON_TZ` in effect, else the zone the caller gave.
    pub timezone: String,
    /// The user field of the system format.
    pub user: Option<String>,
    /// The command, up to the first unescaped `%`.
    pub command: String,
    /// The text after the first unescaped `%`, with `%` turned into newlines.
    pub stdin: Option<String>,
    /// `SHELL` in effect (`/bin/sh` unless set).
    pub shell: String,
    /// The variables in effect for this entry, except `SHELL`, `CRON_TZ` and `MAILTO`.
    pub env: BTreeMap<String, String>,
}

/// Something worth telling about a line that is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A parsed crontab.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Crontab {
    pub entries: Vec<Entry>,
    /// Entries left out (`@reboot`), with the reason.
    pub skipped: Vec<Note>,
    /// Lines that are valid but probably not what their author meant.
    pub warnings: Vec<Note>,
}

/// Why a crontab cannot be imported: every invalid line, in order (at most [`MAX_ERRORS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrontabError {
    pub errors: Vec<Note>,
}

/// Errors reported at most; a file that is not a crontab at all would otherwise list every line.
pub const MAX_ERRORS: usize = 20;

impl fmt::Display for CrontabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        write!(f, "the crontab has {count} invalid line{}; nothing was imported", plural(count))?;
        for error in &self.errors {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CrontabError {}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

const MACROS: [&str; 7] =
    ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

/// Reads `text` as a crontab of `format`, with schedules in `timezone` unless `CRON_TZ` says
/// otherwise. Never panics, whatever the text.
pub fn parse(text: &str, format: Format, timezone: &str) -> Result<Crontab, CrontabError> {
    let mut crontab = Crontab::default();
    let mut errors = Vec::new();
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut shell = "/bin/sh".to_owned();
    let mut zone = timezone.to_owned();
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        let message = format!("time zone {timezone:?} is not a zone of the IANA database");
        return Err(CrontabError { errors: vec![Note { line: 0, message }] });
    }
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.ends_with('\\') {
            crontab.warnings.push(Note {
                line: number,
                message: "ends with a backslash, but cron has no line continuation: the \
                          backslash stays in the command and the next line is read on its own"
                    .into(),
            });
        }
        let result = match assignment(trimmed) {
            Some((name, value)) => {
                apply_assignment(name, value, number, &mut env, &mut shell, &mut zone, &mut crontab)
            }
            None => {
                entry(trimmed, number, format, &zone, &shell, &env).map(|parsed| match parsed {
                    Parsed::Entry(entry) => crontab.entries.push(*entry),
                    Parsed::Reboot(command) => crontab.skipped.push(Note {
                        line: number,
                        message: format!("@reboot has no schedule, skipped: {command}"),
                    }),
                })
            }
        };
        if let Err(message) = result {
            errors.push(Note { line: number, message });
            if errors.len() >= MAX_ERRORS {
                break;
            }
        }
    }
    if errors.is_empty() {
        Ok(crontab)
    } else {
        Err(CrontabError { errors })
    }
}

/// `NAME = VALUE` (spaces around `=` allowed; surrounding quotes removed), if the line is one.
fn assignment(line: &str) -> Option<(&str, String)> {
    let end = line.find(['=', ' ', '\t'])?;
    let name = &line[..end];
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest = line[end..].trim_start_matches([' ', '\t']);
    let value = rest.strip_prefix('=')?;
    if !valid {
        return None;
    }
    let value = value.trim_matches([' ', '\t']);
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|&quote| {
            value
                .strip_prefix(quote)
                .and_then(|inner| inner.strip_suffix(quote))
                .filter(|_| value.len() >= 2)
        })
        .unwrap_or(value);
    Some((name, unquoted.to_owned()))
}

fn apply_assignment(
    name: &str,
    value: String,
    line: usize,
    env: &mut BTreeMap<String, String>,
    shell: &mut String,
    zone: &mut String,
    crontab: &mut Crontab,
) -> Result<(), String> {
    match name {
        "SHELL" => {
            if !value.starts_with('/') {
                return Err(format!("SHELL: {value:?} must be an absolute path"));
            }
            *shell = value;
        }
        "CRON_TZ" => {
            value.parse::<chrono_tz::Tz>().map_err(|_| {
                format!("CRON_TZ: {value:?} is not a time zone of the IANA database")
            })?;
            *zone = value;
        }
        "MAILTO" => crontab.warnings.push(Note {
            line,
            message: "MAILTO is not imported: Rota records each run's output instead of mailing \
                      it (tenant notifications: rota tenant set --notify-email)"
                .into(),
        }),
        _ if name.starts_with("ROTA_") => {
            return Err(format!("{name}: variables starting with ROTA_ are set by Rota"));
        }
        _ => {
            if value.contains('\0') {
                return Err(format!("{name}: the value contains a NUL byte"));
            }
            env.insert(name.to_owned(), value);
        }
    }
    Ok(())
}

enum Parsed {
    Entry(Box<Entry>),
    Reboot(String),
}

/// Splits off the first whitespace-separated token.
fn token(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start_matches([' ', '\t']);
    if text.is_empty() {
        return None;
    }
    let end = text.find([' ', '\t']).unwrap_or(text.len());
    Some((&text[..end], &text[end..]))
}

fn entry(
    line: &str,
    number: usize,
    format: Format,
    zone: &str,
    shell: &str,
    env: &BTreeMap<String, String>,
) -> Result<Parsed, String> {
    let mut rest = line;
    let schedule = if line.starts_with('@') {
        let (name, after) = token(rest).ok_or("empty entry")?;
        rest = after;
        if name == "@reboot" {
            return Ok(Parsed::Reboot(rest.trim().to_owned()));
        }
        if !MACROS.contains(&name) {
            return Err(format!(
                "{name:?} is not a cron macro; allowed @reboot, {}",
                MACROS.join(", ")
            ));
        }
        name.to_owned()
    } else {
        let mut fields = Vec::with_capacity(5);
        for position in ["minute", "hour", "day-of-month", "month", "day-of-week"] {
            let (field, after) = token(rest).ok_or_else(|| {
                format!(
                    "the {position} field is missing (an entry is five time fields and a command)"
                )
            })?;
            fields.push(field);
            rest = after;
        }
        fields.join(" ")
    };
    Schedule::parse(&schedule, zone).map_err(|error| format!("{error}"))?;
    let user = match format {
        Format::User => None,
        Format::System => {
            let (user, after) = token(rest).ok_or(
                "the user field is missing (the system format is: schedule, user, command)",
            )?;
            rest = after;
            crate::handler::spec::validate_user_name(user)
                .map_err(|_| format!("user: {user:?} is not a valid user name"))?;
            Some(user.to_owned())
        }
    };
    let command_text = rest.trim_start_matches([' ', '\t']);
    if command_text.is_empty() {
        return Err("the command is missing".into());
    }
    let (command, stdin) = split_percent(command_text);
    if command.trim().is_empty() {
        return Err("the command is empty (it starts with an unescaped %)".into());
    }
    if command.contains('\0') || stdin.as_ref().is_some_and(|text| text.contains('\0')) {
        return Err("the command contains a NUL byte".into());
    }
    Ok(Parsed::Entry(Box::new(Entry {
        line: number,
        schedule,
        timezone: zone.to_owned(),
        user,
        command,
        stdin,
        shell: shell.to_owned(),
        env: env.clone(),
    })))
}

/// Vixie's `%` rule: the command up to the first unescaped `%` (with `\%` turned into `%`),
/// and the rest as standard input (`%` turned into newlines, `\%` into `%`).
pub fn split_percent(text: &str) -> (String, Option<String>) {
    let mut command = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'%') => {
                command.push('%');
                chars.next();
            }
            '%' => {
                let mut input = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' if chars.peek() == Some(&'%') => {
                            input.push('%');
                            chars.next();
                        }
                        '%' => input.push('\n'),
                        other => input.push(other),
                    }
                }
                return (command, Some(input));
            }
            other => command.push(other),
        }
    }
    (command, None)
}

/// A readable, stable job name for an entry: the program's name and the schedule, such as
/// `backup.sh-30.2.x.x.x` (fields joined by `.`, `*` written `x`, `/` written `s`) or
/// `logrotate-daily`. Callers make names unique by appending `-2`, `-3`, ... in file order.
pub fn job_name(entry: &Entry) -> String {
    let schedule = match entry.schedule.strip_prefix('@') {
        Some(name) => name.to_owned(),
        None => entry
            .schedule
            .split(' ')
            .map(|field| {
                field
                    .chars()
                    .map(|c| match c {
                        '*' => 'x',
                        '/' => 's',
                        c if c.is_ascii_alphanumeric() || c == ',' || c == '-' => {
                            c.to_ascii_lowercase()
                        }
                        _ => '_',
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("."),
    };
    format!("{}-{schedule}", program_name(&entry.command))
}

const INTERPRETERS: [&str; 11] =
    ["sh", "bash", "dash", "zsh", "python", "python3", "perl", "ruby", "php", "node", "env"];
const WRAPPERS: [&str; 5] = ["nice", "ionice", "nohup", "exec", "time"];

/// The name of the program a shell line runs, for naming: the first word after variable
/// assignments, `cd DIR &&` and wrappers like `nice`, as a base name; for an interpreter
/// (`php /var/www/cron.php`), the script's base name.
fn program_name(command: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    let mut index = 0;
    while index < words.len() {
        let word = words[index];
        if word == "cd" {
            // Skip to after the `&&` or `;` that ends the `cd`.
            match words[index..].iter().position(|w| *w == "&&" || *w == ";" || w.ends_with(';')) {
                Some(end) => index += end + 1,
                None => break,
            }
            continue;
        }
        let is_assignment = word.find('=').is_some_and(|at| {
            at > 0 && word[..at].chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        // A wrapper's options and their numbers (`nice -n 10`) are skipped with it.
        let option =
            index > 0 && (word.starts_with('-') || word.bytes().all(|b| b.is_ascii_digit()));
        if is_assignment || WRAPPERS.contains(&word) || option {
            index += 1;
            continue;
        }
        break;
    }
    let base = |word: &str| {
        let word = word.trim_matches(['"', '\'', '(', ')', ';', '&', '|']);
        word.rsplit('/').next().unwrap_or(word).to_owned()
    };
    let mut name = words.get(index).map(|word| base(word)).unwrap_or_default();
    if INTERPRETERS.contains(&name.as_str()) {
        if let Some(script) = words[index + 1..].iter().find(|w| !w.starts_with('-')) {
            let script = base(script);
            if !script.is_empty() {
                name = script;
            }
        }
    }
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .take(40)
        .collect();
    let cleaned = cleaned.trim_matches(['-', '.']).to_owned();
    if cleaned.is_empty() {
        "job".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Entry {
        let crontab = parse(line, Format::User, "UTC").unwrap();
        assert_eq!(crontab.entries.len(), 1, "{crontab:?}");
        crontab.entries.into_iter().next().unwrap()
    }

    #[test]
    fn percent_signs_follow_vixie() {
        assert_eq!(split_percent("echo hi"), ("echo hi".into(), None));
        assert_eq!(
            split_percent("mail -s report root%line one%line two"),
            ("mail -s report root".into(), Some("line one\nline two".into()))
        );
        assert_eq!(
            split_percent(r"date +\%Y-\%m-\%d > /tmp/x"),
            ("date +%Y-%m-%d > /tmp/x".into(), None)
        );
        assert_eq!(split_percent(r"cat%50\% done%"), ("cat".into(), Some("50% done\n".into())));
        assert_eq!(split_percent(r"echo a\b"), (r"echo a\b".into(), None));
    }

    #[test]
    fn entries_carry_their_variables_shell_and_zone() {
        let text = "PATH=/usr/bin:/bin\nSHELL=/bin/bash\n# comment\n\nCRON_TZ=Europe/Berlin\n\
                    30 2 * * * /usr/local/bin/backup.sh --full\nMODE = \"fast\"\n@hourly run-it\n";
        let crontab = parse(text, Format::User, "UTC").unwrap();
        let [first, second] = &crontab.entries[..] else { panic!("{crontab:?}") };
        assert_eq!(first.line, 6);
        assert_eq!(first.schedule, "30 2 * * *");
        assert_eq!(first.timezone, "Europe/Berlin");
        assert_eq!(first.shell, "/bin/bash");
        assert_eq!(first.env, [("PATH".to_owned(), "/usr/bin:/bin".to_owned())].into());
        assert_eq!(second.schedule, "@hourly");
        assert_eq!(second.env.get("MODE").map(String::as_str), Some("fast"));
        assert_eq!(job_name(first), "backup.sh-30.2.x.x.x");
        assert_eq!(job_name(second), "run-it-hourly");
    }

    #[test]
    fn the_system_format_has_a_user_field() {
        let crontab = parse(
            "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n",
            Format::System,
            "UTC",
        )
        .unwrap();
        let entry = &crontab.entries[0];
        assert_eq!(entry.user.as_deref(), Some("root"));
        assert_eq!(entry.command, "cd / && run-parts --report /etc/cron.hourly");
        assert_eq!(job_name(entry), "run-parts-17.x.x.x.x");
        let error = parse("17 * * * *\n", Format::System, "UTC").unwrap_err();
        assert!(error.to_string().contains("line 1: the user field is missing"), "{error}");
    }

    #[test]
    fn reboot_is_skipped_and_continuations_are_reported() {
        let crontab =
            parse("@reboot /usr/bin/start-thing\n0 * * * * echo a \\\n", Format::User, "UTC")
                .unwrap();
        assert_eq!(
            crontab.skipped[0].to_string(),
            "line 1: @reboot has no schedule, skipped: /usr/bin/start-thing"
        );
        assert_eq!(crontab.warnings[0].line, 2);
        assert!(crontab.warnings[0].message.contains("no line continuation"));
        assert_eq!(crontab.entries[0].command, "echo a \\");
    }

    #[test]
    fn every_invalid_line_is_named() {
        let text = "0 * * * * fine\n61 * * * * bad minute\nnot a cron line\n@fortnightly x\n\
                    CRON_TZ=Mars/Olympus\n5 4 * * *\nROTA_JOB=x\n";
        let error = parse(text, Format::User, "UTC").unwrap_err();
        let lines: Vec<usize> = error.errors.iter().map(|note| note.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7], "{error}");
        let text = error.to_string();
        assert!(
            text.starts_with("the crontab has 6 invalid lines; nothing was imported"),
            "{text}"
        );
        assert!(text.contains("line 2: minute field: \"61\" is out of range"), "{text}");
        assert!(text.contains("line 3: the day-of-week field is missing"), "{text}");
        assert!(text.contains("line 4: \"@fortnightly\" is not a cron macro"), "{text}");
        assert!(text.contains("line 5: CRON_TZ: \"Mars/Olympus\""), "{text}");
        assert!(text.contains("line 6: the command is missing"), "{text}");
    }

    #[test]
    fn names_come_from_the_program_or_script() {
        let name = |command: &str| program_name(command);
        assert_eq!(name("/usr/bin/php /var/www/cron.php >/dev/null 2>&1"), "cron.php");
        assert_eq!(name("cd /srv/app && ./manage.py clearsessions"), "manage.py");
        assert_eq!(name("LANG=C nice -n 10 /opt/bin/report --daily"), "report");
        assert_eq!(name("[ -x /usr/sbin/thing ] && thing"), "job");
        assert_eq!(name("python3 -u /srv/etl.py"), "etl.py");
        assert_eq!(one("*/5 * * * * test -x /x && /x").schedule, "*/5 * * * *");
        assert_eq!(job_name(&one("*/5 1-5 * jan mon-fri /bin/true")), "true-xs5.1-5.x.jan.mon-fri");
    }

    #[test]
    fn crlf_files_and_tabs_are_read() {
        let entry = one("0\t3\t*\t*\t*\t/bin/backup\r\n");
        assert_eq!(entry.schedule, "0 3 * * *");
        assert_eq!(entry.command, "/bin/backup");
    }
}
