//! The Jepsen importers on real-looking logs: what each line becomes, what
//! is skipped, every malformed line's error (line, column, what was
//! expected), and round trips of generated histories through both formats.

use dsys_replication::consistency::history::{History, Operation};
use dsys_replication::consistency::jepsen::{
    read_etcd_log, read_kv_edn, write_etcd_log, write_kv_edn,
};
use dsys_replication::consistency::models::{KvOp, KvRet, RegisterOp, RegisterRet};
use dsys_replication::Error;
use proptest::prelude::*;

type RegisterHistory = History<RegisterOp<i64>, RegisterRet<i64>>;

fn op<I, O>(
    client: u64,
    invoke: u64,
    complete: Option<u64>,
    input: I,
    output: Option<O>,
) -> Operation<I, O> {
    Operation {
        client,
        invoke,
        complete,
        input,
        output,
    }
}

/// A log as Jepsen's etcd test writes it, with the lines around the history
/// that a real `jepsen.log` has.
const ETCD_LOG: &str = "\
INFO  jepsen.core - Running test etcd
INFO  jepsen.util - 0\t:invoke\t:read\tnil
INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]
INFO  jepsen.util - 1\t:invoke\t:cas\t[0 3]
INFO  jepsen.util - 4\t:invoke\t:write\t4
INFO  jepsen.util - 3\t:invoke\t:read\tnil
INFO  jepsen.util - 2\t:ok\t:cas\t[3 0]
INFO  jepsen.util - 1\t:fail\t:cas\t[0 3]
INFO  jepsen.util - :nemesis\t:info\t:start\tnil
INFO  jepsen.util - 0\t:ok\t:read\t4
INFO  jepsen.util - 3\t:fail\t:read\t:timed-out
INFO  jepsen.util - 4\t:info\t:write\t:timed-out
WARN  jepsen.core - Process 4 crashed
java.net.SocketTimeoutException: Read timed out
\tat jepsen.util$timeout.invoke(util.clj:42)

INFO  jepsen.util - 1\t:invoke\t:write\t7
INFO  jepsen.util - 1\t:fail\t:write\t:timed-out
INFO  jepsen.util - 9\t:invoke\t:write\t1
INFO  jepsen.util - 0\t:invoke\t:cas\t[4 1]
INFO  jepsen.util - 5\t:invoke\t:cas\t[1 2]
INFO  jepsen.util - 5\t:fail\t:cas\t:timed-out
";

#[test]
fn the_etcd_log_means_what_the_etcd_test_meant() {
    let history = read_etcd_log(ETCD_LOG.as_bytes()).unwrap();
    let cas = |expect, new| RegisterOp::Cas { expect, new };
    let expected: RegisterHistory = History::from(vec![
        op(
            0,
            2,
            Some(10),
            RegisterOp::Read,
            Some(RegisterRet::Value(Some(4))),
        ),
        op(2, 3, Some(7), cas(3, 0), Some(RegisterRet::Cas(true))),
        // `:fail :cas`: completed, the compare failed.
        op(1, 4, Some(8), cas(0, 3), Some(RegisterRet::Cas(false))),
        // `:info`: open until the end.
        op(4, 5, None, RegisterOp::Write(4), None),
        // `:fail :read :timed-out`: completed, result unknown.
        op(3, 6, Some(11), RegisterOp::Read, None),
        // Line 17's `:fail :write` did not happen: dropped. Never completed: open.
        op(9, 19, None, RegisterOp::Write(1), None),
        op(0, 20, None, cas(4, 1), None),
        // Line 22's `:fail :cas :timed-out` is an error, not a failed
        // compare: it did not take effect, dropped.
    ]);
    assert_eq!(history, expected);
    history.validate().unwrap();
}

#[test]
fn fields_separated_by_spaces_read_as_with_tabs() {
    // Logs whose tabs were expanded to spaces (two of Porcupine's test logs
    // are stored that way); Porcupine's reader accepts any whitespace.
    let spaced = ETCD_LOG.replace('\t', "   ");
    assert_ne!(spaced, ETCD_LOG);
    let with_tabs = read_etcd_log(ETCD_LOG.as_bytes()).unwrap();
    assert_eq!(read_etcd_log(spaced.as_bytes()).unwrap(), with_tabs);
    // One space, or a tab and spaces, work too; the cas value keeps its space.
    let one = read_etcd_log("INFO  jepsen.util - 2 :invoke :cas [3 0]\n".as_bytes()).unwrap();
    let mixed =
        read_etcd_log("INFO  jepsen.util - 2\t  :invoke  \t:cas\t [3 0]  \n".as_bytes()).unwrap();
    assert_eq!(one, mixed);
    assert_eq!(one.ops()[0].input, RegisterOp::Cas { expect: 3, new: 0 });
}

#[test]
fn an_empty_log_or_one_without_history_lines_is_an_empty_history() {
    assert!(read_etcd_log(&b""[..]).unwrap().is_empty());
    assert!(read_etcd_log(&b"INFO  jepsen.core - nothing\n\n"[..])
        .unwrap()
        .is_empty());
    assert!(read_kv_edn(&b"\n; a comment\n"[..]).unwrap().is_empty());
}

/// Reads `text` and expects a parse error at `line`, `column` whose message
/// contains `needle`.
fn assert_parse_error<T: std::fmt::Debug>(
    result: Result<T, Error>,
    line: usize,
    column: usize,
    needle: &str,
    text: &str,
) {
    match result {
        Err(Error::Parse {
            line: l,
            column: c,
            message,
        }) => {
            assert_eq!((l, c), (line, column), "{text:?}: {message}");
            assert!(
                message.contains(needle),
                "{text:?}: {message:?} lacks {needle:?}"
            );
        }
        other => panic!("{text:?}: expected a parse error, got {other:?}"),
    }
}

#[test]
fn every_malformed_etcd_line_is_an_error_with_line_and_column() {
    let p = "INFO  jepsen.util - "; // 20 characters: the record starts at column 21.
    let ok_invoke = format!("{p}0\t:invoke\t:write\t3\n");
    let cases: Vec<(String, usize, usize, &str)> = vec![
        (format!("{p}\n"), 1, 21, "expected a process number"),
        (format!("{p}0\n"), 1, 22, "expected a tab and then the type"),
        (
            format!("{p}0\t:invoke\n"),
            1,
            30,
            "expected a tab and then the function",
        ),
        (
            format!("{p}0\t:invoke\t:read\n"),
            1,
            36,
            "expected a tab and then the value",
        ),
        (
            format!("{p}0\t:invoke\t:read\t\n"),
            1,
            37,
            "expected the value",
        ),
        (
            format!("{p}x\t:invoke\t:read\tnil\n"),
            1,
            21,
            "expected a process number (or :nemesis), found \"x\"",
        ),
        (
            format!("{p}-1\t:invoke\t:read\tnil\n"),
            1,
            21,
            "expected a process number",
        ),
        (
            format!("{p}0\t:begin\t:read\tnil\n"),
            1,
            23,
            "expected the type :invoke, :ok, :fail or :info",
        ),
        (
            format!("{p}0\t:invoke\t:add\t1\n"),
            1,
            31,
            "expected the function :read, :write or :cas",
        ),
        (
            format!("{p}0\t:invoke\t:read\t4\n"),
            1,
            37,
            "expected nil (a read is invoked without a value)",
        ),
        (
            format!("{p}0\t:invoke\t:write\tnil\n"),
            1,
            38,
            "expected the integer written",
        ),
        (
            format!("{p}0\t:invoke\t:write\t99999999999999999999\n"),
            1,
            38,
            "64-bit integer",
        ),
        (
            format!("{p}0\t:invoke\t:cas\t[1]\n"),
            1,
            36,
            "expected [expect new], two integers",
        ),
        (
            format!("{p}0\t:invoke\t:cas\t[1 2\n"),
            1,
            40,
            "expected ']'",
        ),
        (
            format!("{p}0\t:invoke\t:cas\t[1 2] x\n"),
            1,
            42,
            "after the value",
        ),
        (
            format!("{p}0\t:ok\t:read\t1\n"),
            1,
            21,
            "process 0 has no running operation: expected an :invoke first",
        ),
        (
            format!("{ok_invoke}{p}0\t:invoke\t:read\tnil\n"),
            2,
            21,
            "invokes again while its operation from line 1",
        ),
        (
            format!("{ok_invoke}{p}0\t:ok\t:read\t3\n"),
            2,
            27,
            "expected :write, the function process 0 invoked on line 1",
        ),
        (
            format!("{ok_invoke}{p}0\t:ok\t:write\t4\n"),
            2,
            34,
            "expected 3, the value invoked on line 1",
        ),
        (
            format!("{p}0\t:invoke\t:cas\t[1 2]\n{p}0\t:ok\t:cas\t[2 1]\n"),
            2,
            32,
            "expected [1 2], the value invoked on line 1",
        ),
        (
            format!("{p}0\t:invoke\t:read\tnil\n{p}0\t:ok\t:read\t:timed-out\n"),
            2,
            33,
            "expected the value read: nil or an integer",
        ),
        (
            format!("{ok_invoke}{p}0\t:info\t:write\t:timed-out\n{p}0\t:invoke\t:read\tnil\n"),
            3,
            21,
            "after its operation ended in :info on line 2",
        ),
        (
            format!("{ok_invoke}{p}0\t:info\t:write\t:timed-out\n{p}0\t:ok\t:write\t3\n"),
            3,
            21,
            "its last one ended in :info on line 2",
        ),
        (
            "INFO  jepsen.util - 0\t:ok\t:read\t\"\u{e9}\n".into(),
            1,
            33,
            "unterminated string",
        ),
    ];
    for (text, line, column, needle) in cases {
        assert_parse_error(read_etcd_log(text.as_bytes()), line, column, needle, &text);
    }
    // Not UTF-8: the column of the first bad byte.
    let mut bytes = format!("{ok_invoke}{p}0\t:ok\t:write\t").into_bytes();
    bytes.extend_from_slice(&[0xff, b'\n']);
    assert_parse_error(
        read_etcd_log(bytes.as_slice()),
        2,
        34,
        "not UTF-8",
        "non-UTF-8",
    );
}

const KV_EDN: &str = r#"{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :get, :key "0", :value nil}
{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :ok, :f :get, :key "0", :value "x 0 0 y", :time 120034}

; the nemesis and a comment are skipped
{:process :nemesis, :type :info, :f :start, :value nil}
{:process 2, :type :invoke, :f :put, :key 7, :value "a \"quoted\" \\ value"}
{:process 1, :type :invoke, :f :get, :key "7", :value nil}
{:process 2, :type :fail, :f :put, :key "7", :value "a \"quoted\" \\ value", :error :conflict}
{:process 1, :type :fail, :f :get, :key "7", :value nil}
{:process 3, :type :invoke, :f :cas, :key "0", :value ["x 0 0 y" "z"]}
{:process 4, :type :invoke, :f :get, :key "1", :value nil}
{:process 3, :type :ok, :f :cas, :key "0", :value ["x 0 0 y" "z"]}
{:process 4, :type :ok, :f :get, :key "1", :value nil}
{:process 5, :type :invoke, :f :cas, :key "0", :value ["q" "r"]}
{:process 5, :type :fail, :f :cas, :key "0", :value ["q" "r"]}
{:process 6, :type :invoke, :f :put, :key "1", :value "é"}
{:process 6, :type :info, :f :put, :key "1", :value "é"}
{:process 7, :type :invoke, :f :cas, :key "0", :value ["a" "b"]}
{:process 7, :type :fail, :f :cas, :key "0", :value nil, :error :timeout}
"#;

#[test]
fn edn_lines_become_a_kv_history() {
    let history = read_kv_edn(KV_EDN.as_bytes()).unwrap();
    let s = |s: &str| s.to_string();
    let expected: History<KvOp, KvRet> = History::from(vec![
        op(
            0,
            1,
            Some(3),
            KvOp::Append {
                key: s("0"),
                value: s("x 0 0 y"),
            },
            Some(KvRet::Done),
        ),
        op(
            1,
            2,
            Some(4),
            KvOp::Get { key: s("0") },
            Some(KvRet::Value(s("x 0 0 y"))),
        ),
        // Line 8's put failed: dropped. A failed get: result unknown.
        op(1, 9, Some(11), KvOp::Get { key: s("7") }, None),
        op(
            3,
            12,
            Some(14),
            KvOp::Cas {
                key: s("0"),
                expect: s("x 0 0 y"),
                new: s("z"),
            },
            Some(KvRet::Cas(true)),
        ),
        // nil: the absent value, "".
        op(
            4,
            13,
            Some(15),
            KvOp::Get { key: s("1") },
            Some(KvRet::Value(String::new())),
        ),
        op(
            5,
            16,
            Some(17),
            KvOp::Cas {
                key: s("0"),
                expect: s("q"),
                new: s("r"),
            },
            Some(KvRet::Cas(false)),
        ),
        op(
            6,
            18,
            None,
            KvOp::Put {
                key: s("1"),
                value: s("é"),
            },
            None,
        ),
        // Line 21's cas failed with an error: dropped.
    ]);
    assert_eq!(history, expected);
    history.validate().unwrap();
}

#[test]
fn every_malformed_edn_line_is_an_error_with_line_and_column() {
    let invoke = "{:process 0, :type :invoke, :f :put, :key \"k\", :value \"v\"}\n";
    let cases: Vec<(String, usize, usize, &str)> = vec![
        ("[1 2]\n".into(), 1, 1, "expected a map such as"),
        (
            "{:process 0, :type :invoke\n".into(),
            1,
            27,
            "expected '}' to close the \"{\" at column 1",
        ),
        (
            "{:process 0 :type}\n".into(),
            1,
            18,
            "value for the map's last key",
        ),
        (
            "{:type :invoke, :f :get, :key \"k\", :value nil}\n".into(),
            1,
            1,
            "expected :process (a process number) in the map",
        ),
        (
            "{:process 0, :f :get, :key \"k\", :value nil}\n".into(),
            1,
            1,
            "expected :type",
        ),
        (
            "{:process 0, :type :invoke, :key \"k\", :value nil}\n".into(),
            1,
            1,
            "expected :f",
        ),
        (
            "{:process 0, :type :invoke, :f :get, :value nil}\n".into(),
            1,
            1,
            "expected :key",
        ),
        (
            "{:process 0, :type :invoke, :f :get, :key \"k\"}\n".into(),
            1,
            1,
            "expected :value",
        ),
        (
            "{:process \"0\", :type :invoke, :f :get, :key \"k\", :value nil}\n".into(),
            1,
            11,
            "expected a process number (or :nemesis) for :process, found the string \"0\"",
        ),
        (
            "{:process 0, :type :start, :f :get, :key \"k\", :value nil}\n".into(),
            1,
            20,
            "expected :invoke, :ok, :fail or :info for :type, found :start",
        ),
        (
            "{:process 0, :type :invoke, :f :read, :key \"k\", :value nil}\n".into(),
            1,
            32,
            "expected :get, :put, :append, :cas or :delete for :f",
        ),
        (
            "{:process 0, :type :invoke, :f :get, :key nil, :value nil}\n".into(),
            1,
            43,
            "expected a string (or an integer) for :key",
        ),
        (
            "{:process 0, :type :invoke, :f :get, :key \"k\", :value \"v\"}\n".into(),
            1,
            55,
            "expected nil (a get is invoked without a value)",
        ),
        (
            "{:process 0, :type :invoke, :f :put, :key \"k\", :value 3}\n".into(),
            1,
            55,
            "expected the string to put",
        ),
        (
            "{:process 0, :type :invoke, :f :cas, :key \"k\", :value [\"a\"]}\n".into(),
            1,
            55,
            "expected [expect new], two strings",
        ),
        (
            "{:process 0, :type :invoke, :f :get, :key \"k, :value nil}\n".into(),
            1,
            43,
            "unterminated string",
        ),
        (
            "{:process 0, :type :invoke, :process 1}\n".into(),
            1,
            29,
            "duplicate key :process",
        ),
        (
            "{:process 0, :type :ok, :f :get, :key \"k\", :value nil}\n".into(),
            1,
            1,
            "process 0 has no running operation",
        ),
        (
            format!("{invoke}{invoke}"),
            2,
            1,
            "invokes again while its operation from line 1",
        ),
        (
            format!("{invoke}{{:process 0, :type :ok, :f :append, :key \"k\", :value \"v\"}}\n"),
            2,
            28,
            "expected :put, as process 0 invoked on line 1",
        ),
        (
            format!("{invoke}{{:process 0, :type :ok, :f :put, :key \"j\", :value \"v\"}}\n"),
            2,
            39,
            "expected \"k\", as process 0 invoked on line 1",
        ),
        (
            format!("{invoke}{{:process 0, :type :ok, :f :put, :key \"k\", :value \"w\"}}\n"),
            2,
            51,
            "expected \"v\", the value invoked on line 1",
        ),
        (format!("\n\n{invoke}x\n"), 4, 1, "expected a map such as"),
    ];
    for (text, line, column, needle) in cases {
        assert_parse_error(read_kv_edn(text.as_bytes()), line, column, needle, &text);
    }
}

#[test]
fn writing_a_completed_write_without_answer_is_refused() {
    let mut history = RegisterHistory::new();
    history.push(op(0, 1, Some(2), RegisterOp::Write(1), None));
    let error = write_etcd_log(&history, Vec::new()).unwrap_err();
    assert!(
        error.to_string().contains("no form in the etcd log"),
        "{error}"
    );
    let mut history = History::<KvOp, KvRet>::new();
    history.complete_op(0, 1, 2, KvOp::Get { key: "k".into() }, KvRet::Done);
    let error = write_kv_edn(&history, Vec::new()).unwrap_err();
    assert!(
        error.to_string().contains("no form in Jepsen's EDN"),
        "{error}"
    );
}

/// One step of a generated run: which client acts (modulo the clients
/// alive), what it does, and the values it uses.
#[derive(Clone, Debug)]
struct Action {
    client: usize,
    choice: u8,
    a: i64,
    b: i64,
}

fn actions() -> impl Strategy<Value = Vec<Action>> {
    prop::collection::vec(
        (0usize..5, 0u8..8, -3i64..6, -3i64..6).prop_map(|(client, choice, a, b)| Action {
            client,
            choice,
            a,
            b,
        }),
        0..60,
    )
}

/// A history from a sequence of actions, with one event per line number:
/// each client invokes when idle; when busy it completes (with a random but
/// well-typed answer) or is lost for good (the operation stays open and the
/// client continues under a new id, as Jepsen does).
fn generate<I: Clone, O>(
    actions: &[Action],
    input: impl Fn(&Action) -> I,
    output: impl Fn(&I, &Action) -> Option<O>,
) -> History<I, O> {
    let mut ops: Vec<Operation<I, O>> = Vec::new();
    // Five slots, each with its current client id and open operation.
    let mut slots: Vec<(u64, Option<usize>)> = (0..5).map(|i| (i, None)).collect();
    let mut next_client = 5;
    // One line per event; a loss writes no line.
    let mut time = 0;
    for action in actions {
        let slot = &mut slots[action.client];
        match slot.1 {
            None => {
                time += 1;
                slot.1 = Some(ops.len());
                ops.push(op(slot.0, time, None, input(action), None));
            }
            Some(_) if action.choice == 0 => {
                // Lost: stays open; the slot continues as a new client.
                *slot = (next_client, None);
                next_client += 1;
            }
            Some(index) => {
                time += 1;
                let o = &mut ops[index];
                o.complete = Some(time);
                o.output = output(&o.input, action);
                slot.1 = None;
            }
        }
    }
    History::from(ops)
}

fn register_history(actions: &[Action]) -> RegisterHistory {
    generate(
        actions,
        |a| match a.choice % 3 {
            0 => RegisterOp::Read,
            1 => RegisterOp::Write(a.a),
            _ => RegisterOp::Cas {
                expect: a.a,
                new: a.b,
            },
        },
        |input, a| match input {
            RegisterOp::Read => match a.choice % 3 {
                0 => None,
                1 => Some(RegisterRet::Value(None)),
                _ => Some(RegisterRet::Value(Some(a.b))),
            },
            RegisterOp::Write(_) => Some(RegisterRet::Written),
            RegisterOp::Cas { .. } => Some(RegisterRet::Cas(a.choice % 2 == 0)),
        },
    )
}

fn kv_history(actions: &[Action]) -> History<KvOp, KvRet> {
    let key =
        |a: &Action| ["0", "x y", "\"q\"", "\\", "é"][(a.a.rem_euclid(5)) as usize].to_string();
    let value = |v: i64| format!("x {v} \"y\"\n");
    generate(
        actions,
        |a| match a.choice % 5 {
            4 => KvOp::Delete { key: key(a) },
            0 => KvOp::Get { key: key(a) },
            1 => KvOp::Put {
                key: key(a),
                value: value(a.b),
            },
            2 => KvOp::Append {
                key: key(a),
                value: value(a.b),
            },
            _ => KvOp::Cas {
                key: key(a),
                expect: value(a.a),
                new: value(a.b),
            },
        },
        |input, a| match input {
            KvOp::Get { .. } => (a.choice % 3 != 0).then(|| KvRet::Value(value(a.b))),
            KvOp::Put { .. } | KvOp::Append { .. } | KvOp::Delete { .. } => Some(KvRet::Done),
            KvOp::Cas { .. } => Some(KvRet::Cas(a.choice % 2 == 0)),
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_register_history_written_as_an_etcd_log_reads_back_the_same(actions in actions()) {
        let history = register_history(&actions);
        history.validate().unwrap();
        let mut log = Vec::new();
        write_etcd_log(&history, &mut log).unwrap();
        let back = read_etcd_log(log.as_slice()).unwrap();
        prop_assert_eq!(back, history, "{}", String::from_utf8_lossy(&log));
    }

    #[test]
    fn a_kv_history_written_as_edn_reads_back_the_same(actions in actions()) {
        let history = kv_history(&actions);
        history.validate().unwrap();
        let mut edn = Vec::new();
        write_kv_edn(&history, &mut edn).unwrap();
        let back = read_kv_edn(edn.as_slice()).unwrap();
        prop_assert_eq!(back, history, "{}", String::from_utf8_lossy(&edn));
    }
}
