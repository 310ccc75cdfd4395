//! A small EDN reader: exactly what Jepsen's history lines use (nil,
//! booleans, integers, floats, strings with escapes, keywords, symbols,
//! vectors, lists, sets, maps), with the byte offset of every value so
//! errors can name a column.

use super::{column, EDN_DEPTH_MAX};

// ---------------------------------------------------------------------------
// A small EDN reader
// ---------------------------------------------------------------------------

/// An EDN value with the byte offset where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Node {
    pub(super) at: usize,
    pub(super) edn: Edn,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Keyword(String),
    Symbol(String),
    Vector(Vec<Node>),
    List(Vec<Node>),
    Set(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Edn {
    /// What the value is, for error messages.
    pub(super) fn describe(&self) -> String {
        match self {
            Edn::Nil => "nil".into(),
            Edn::Bool(b) => b.to_string(),
            Edn::Int(i) => format!("the integer {i}"),
            Edn::Float(x) => format!("the number {x}"),
            Edn::Str(s) => format!("the string {s:?}"),
            Edn::Keyword(k) => format!(":{k}"),
            Edn::Symbol(s) => format!("the symbol {s}"),
            Edn::Vector(v) => format!("a vector of {}", v.len()),
            Edn::List(v) => format!("a list of {}", v.len()),
            Edn::Set(v) => format!("a set of {}", v.len()),
            Edn::Map(m) => format!("a map of {}", m.len()),
        }
    }
}

/// A reader error: the byte offset and what was expected.
#[derive(Debug)]
pub(super) struct EdnError {
    pub(super) at: usize,
    pub(super) message: String,
}

pub(super) fn edn_error<T>(at: usize, message: impl Into<String>) -> Result<T, EdnError> {
    Err(EdnError {
        at,
        message: message.into(),
    })
}

pub(super) struct EdnReader<'a> {
    pub(super) text: &'a str,
    pub(super) pos: usize,
}

pub(super) fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}' | '(' | ')' | '"' | ';')
}

impl<'a> EdnReader<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        EdnReader { text, pos: 0 }
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    /// Skips whitespace, commas and `;` comments.
    pub(super) fn skip_blank(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ',' {
                self.pos += c.len_utf8();
            } else if c == ';' {
                self.pos = self.text[self.pos..]
                    .find('\n')
                    .map_or(self.text.len(), |n| self.pos + n);
            } else {
                break;
            }
        }
    }

    /// Reads exactly one value, with nothing but blanks after it.
    pub(super) fn read_only(mut self) -> Result<Node, EdnError> {
        self.skip_blank();
        let node = self.read(0)?;
        self.skip_blank();
        if let Some(c) = self.peek() {
            return edn_error(
                self.pos,
                format!("unexpected {c:?} after the value: expected the end of the line"),
            );
        }
        Ok(node)
    }

    pub(super) fn read(&mut self, depth: usize) -> Result<Node, EdnError> {
        let at = self.pos;
        let Some(c) = self.peek() else {
            return edn_error(at, "expected a value, found the end of the line");
        };
        let edn = match c {
            '"' => Edn::Str(self.read_string()?),
            '[' => Edn::Vector(self.read_seq(depth, ']')?),
            '(' => Edn::List(self.read_seq(depth, ')')?),
            '{' => {
                let items = self.read_seq(depth, '}')?;
                if items.len() % 2 == 1 {
                    return edn_error(
                        self.pos - 1,
                        "expected a value for the map's last key before '}'",
                    );
                }
                let mut map: Vec<(Node, Node)> = Vec::new();
                let mut items = items.into_iter();
                while let (Some(key), Some(value)) = (items.next(), items.next()) {
                    if map.iter().any(|(k, _)| k.edn == key.edn) {
                        return edn_error(
                            key.at,
                            format!("duplicate key {} in the map", key.edn.describe()),
                        );
                    }
                    map.push((key, value));
                }
                Edn::Map(map)
            }
            '#' => {
                if self.text[self.pos..].starts_with("#{") {
                    self.pos += 1;
                    Edn::Set(self.read_seq(depth, '}')?)
                } else {
                    return edn_error(
                        at,
                        "tagged literals (#…) are not supported: expected a keyword, string, \
                         number, nil, vector or map",
                    );
                }
            }
            ']' | ')' | '}' => {
                return edn_error(at, format!("unexpected {c:?}: expected a value"));
            }
            _ => self.read_atom()?,
        };
        Ok(Node { at, edn })
    }

    /// Reads `open … close` (the opening character is at `pos`).
    pub(super) fn read_seq(&mut self, depth: usize, close: char) -> Result<Vec<Node>, EdnError> {
        let start = self.pos;
        if depth >= EDN_DEPTH_MAX {
            return edn_error(
                start,
                format!("nested more than {EDN_DEPTH_MAX} deep: expected a flatter value"),
            );
        }
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            match self.peek() {
                None => {
                    return edn_error(
                        self.pos,
                        format!(
                            "expected {close:?} to close the {:?} at column {}, found the end of the line",
                            &self.text[start..start + 1],
                            column(self.text, start)
                        ),
                    )
                }
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(_) => items.push(self.read(depth + 1)?),
            }
        }
    }

    pub(super) fn read_string(&mut self) -> Result<String, EdnError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return edn_error(
                    start,
                    "unterminated string: expected a closing '\"' on the same line",
                );
            };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let escape_at = self.pos - 1;
                    let Some(e) = self.peek() else {
                        return edn_error(escape_at, "expected an escape after '\\'");
                    };
                    self.pos += e.len_utf8();
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'u' => {
                            let hex = self.text.get(self.pos..self.pos + 4).unwrap_or("");
                            let code = (hex.len() == 4
                                && hex.chars().all(|h| h.is_ascii_hexdigit()))
                            .then(|| u32::from_str_radix(hex, 16).ok())
                            .flatten()
                            .and_then(char::from_u32);
                            let Some(code) = code else {
                                return edn_error(
                                    escape_at,
                                    "expected four hex digits of a character after '\\u'",
                                );
                            };
                            self.pos += 4;
                            out.push(code);
                        }
                        other => {
                            return edn_error(
                                escape_at,
                                format!(
                                    "unknown escape '\\{other}': expected one of \\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX"
                                ),
                            )
                        }
                    }
                }
                _ => out.push(c),
            }
        }
    }

    /// A keyword, number, `nil`, boolean or symbol: a run of non-delimiters.
    pub(super) fn read_atom(&mut self) -> Result<Edn, EdnError> {
        let start = self.pos;
        let end = self.text[start..]
            .find(is_delimiter)
            .map_or(self.text.len(), |n| start + n);
        let token = &self.text[start..end];
        if token.is_empty() {
            let c = self.peek().unwrap_or(' ');
            return edn_error(start, format!("unexpected {c:?}: expected a value"));
        }
        self.pos = end;
        let mut chars = token.chars();
        let first = chars.next().unwrap_or(' ');
        let second = chars.next();
        if first == ':' {
            if token.len() == 1 {
                return edn_error(start, "expected a keyword's name after ':'");
            }
            return Ok(Edn::Keyword(token[1..].to_string()));
        }
        if first.is_ascii_digit()
            || (matches!(first, '-' | '+') && second.is_some_and(|c| c.is_ascii_digit()))
        {
            if token.contains(['.', 'e', 'E']) {
                return token.parse().map(Edn::Float).or_else(|_| {
                    edn_error(start, format!("{token:?} is not a number: expected digits"))
                });
            }
            return token.parse().map(Edn::Int).or_else(|_| {
                edn_error(
                    start,
                    format!("{token:?} is not a 64-bit integer: expected digits, at most 19"),
                )
            });
        }
        Ok(match token {
            "nil" => Edn::Nil,
            "true" => Edn::Bool(true),
            "false" => Edn::Bool(false),
            _ => Edn::Symbol(token.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Node, EdnError> {
        EdnReader::new(text).read_only()
    }

    #[test]
    fn the_edn_reader_reads_what_jepsen_writes() {
        let node = read(r#"{:a [1 -2 nil] :b "q\"\\\n\u00e9" :c #{x} :d (1.5 true)}"#).unwrap();
        let Edn::Map(map) = node.edn else {
            panic!("{node:?}")
        };
        assert_eq!(map.len(), 4);
        assert_eq!(map[1].1.edn, Edn::Str("q\"\\\né".into()));
        assert_eq!(map[1].1.at, 18);
        assert!(matches!(&map[0].1.edn, Edn::Vector(v) if v.len() == 3));
    }

    #[test]
    fn the_edn_reader_says_where_and_what() {
        let cases = [
            ("[1 2", 4, "expected ']'"),
            ("\"abc", 0, "unterminated string"),
            ("{:a}", 3, "value for the map's last key"),
            ("{:a 1 :a 2}", 6, "duplicate key :a"),
            ("99999999999999999999", 0, "64-bit integer"),
            ("\"\\q\"", 1, "unknown escape"),
            ("\"\\u12\"", 1, "four hex digits"),
            ("#inst \"x\"", 0, "tagged literals"),
            (":", 0, "keyword's name"),
            ("1 2", 2, "after the value"),
            ("]", 0, "unexpected ']'"),
            ("", 0, "end of the line"),
        ];
        for (text, at, needle) in cases {
            let error = read(text).unwrap_err();
            assert_eq!(error.at, at, "{text:?}: {error:?}");
            assert!(error.message.contains(needle), "{text:?}: {error:?}");
        }
        let deep = "[".repeat(200);
        assert!(read(&deep).unwrap_err().message.contains("nested"));
    }
}
