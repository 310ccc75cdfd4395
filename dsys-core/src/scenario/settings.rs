//! An algorithm's own settings: `dsys sim ALGO --set NAME=VALUE`.
//!
//! Each [`Algorithm`](super::Algorithm) lists the settings it reads
//! ([`SettingInfo`]: name, default, what it does), so `dsys sim ALGO --help`
//! can show them and an unknown name is refused before the run. The run
//! reads a value with [`Algorithm::setting`](super::Algorithm::setting),
//! which parses the `--set` value or, without one, the listed default.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A setting an algorithm reads, as `dsys sim ALGO --help` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingInfo {
    /// Its name on the command line (`semantics`, `timeout-ms`).
    pub name: &'static str,
    /// The value used without `--set`, in the form `--set` takes.
    pub default: &'static str,
    /// What it changes, and the values it takes.
    pub help: &'static str,
}

/// One `--set NAME=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Setting {
    /// The setting's name.
    pub name: String,
    /// Its value, parsed by the algorithm that reads it.
    pub value: String,
}

impl FromStr for Setting {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => Ok(Setting {
                name: name.trim().to_string(),
                value: value.trim().to_string(),
            }),
            _ => Err(format!(
                "{s:?} is not NAME=VALUE (e.g. semantics=at-least-once; `dsys sim ALGO --help` \
                 lists an algorithm's settings)"
            )),
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

/// Refuses a setting `known` does not list, and a setting given twice.
pub(super) fn check(algorithm: &str, known: &[SettingInfo], given: &[Setting]) -> Result<()> {
    for (i, setting) in given.iter().enumerate() {
        if !known.iter().any(|k| k.name == setting.name) {
            let names: Vec<_> = known.iter().map(|k| k.name).collect();
            return Err(Error::InvalidConfig(if names.is_empty() {
                format!("{algorithm} has no settings (--set {setting})")
            } else {
                format!(
                    "{algorithm} has no setting {:?}; it has {} (`dsys sim {algorithm} --help` \
                     says what they do)",
                    setting.name,
                    names.join(", ")
                )
            }));
        }
        if given[..i].iter().any(|s| s.name == setting.name) {
            return Err(Error::InvalidConfig(format!(
                "--set {} is given twice: keep one",
                setting.name
            )));
        }
    }
    Ok(())
}

/// The value of setting `name`: the last `--set` for it, else its default.
pub(super) fn value<T>(
    algorithm: &str,
    known: &[SettingInfo],
    given: &[Setting],
    name: &str,
) -> Result<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    let info = known.iter().find(|k| k.name == name).ok_or_else(|| {
        Error::InvalidConfig(format!(
            "{algorithm} reads a setting {name:?} it does not list in Algorithm::settings"
        ))
    })?;
    let (text, from) = match given.iter().rev().find(|s| s.name == name) {
        Some(s) => (s.value.as_str(), "--set"),
        None => (info.default, "the default of"),
    };
    text.parse().map_err(|e| {
        Error::InvalidConfig(format!("{from} {name}={text}: {e} ({name}: {})", info.help))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[SettingInfo] = &[
        SettingInfo {
            name: "tries",
            default: "3",
            help: "tries per call",
        },
        SettingInfo {
            name: "broken-default",
            default: "x",
            help: "a number",
        },
    ];

    fn set(s: &str) -> Setting {
        s.parse().unwrap()
    }

    #[test]
    fn parses_name_equals_value_and_prints_it_back() {
        let s = set(" tries = 5 ");
        assert_eq!((s.name.as_str(), s.value.as_str()), ("tries", "5"));
        assert_eq!(s.to_string(), "tries=5");
        assert_eq!(set("a=b=c").value, "b=c");
        for bad in ["tries", "=5", " =5", ""] {
            let err = bad.parse::<Setting>().unwrap_err();
            assert!(err.contains("NAME=VALUE"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn unknown_and_repeated_settings_are_refused_with_the_known_names() {
        assert!(check("rpc", KNOWN, &[set("tries=1")]).is_ok());
        let err = check("rpc", KNOWN, &[set("retries=1")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"retries\"") && err.contains("tries, broken-default"),
            "{err}"
        );
        let err = check("rpc", &[], &[set("x=1")]).unwrap_err().to_string();
        assert!(err.contains("rpc has no settings"), "{err}");
        let err = check("rpc", KNOWN, &[set("tries=1"), set("tries=2")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("given twice"), "{err}");
    }

    #[test]
    fn a_value_comes_from_set_else_from_the_default_and_bad_ones_say_which() {
        assert_eq!(value::<u32>("rpc", KNOWN, &[], "tries").unwrap(), 3);
        assert_eq!(
            value::<u32>("rpc", KNOWN, &[set("tries=7")], "tries").unwrap(),
            7
        );
        let err = value::<u32>("rpc", KNOWN, &[set("tries=seven")], "tries")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(": --set tries=seven: ") && err.contains("tries per call"),
            "{err}"
        );
        let err = value::<u32>("rpc", KNOWN, &[], "broken-default")
            .unwrap_err()
            .to_string();
        assert!(err.contains(": the default of broken-default=x"), "{err}");
        let err = value::<u32>("rpc", KNOWN, &[], "unlisted")
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not list"), "{err}");
    }
}
