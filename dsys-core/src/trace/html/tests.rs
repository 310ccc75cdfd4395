use super::*;
use crate::node::NodeId;
use crate::trace::{DropReason, VectorTimestamp};

const MS: u64 = 1_000_000;

fn clock(entries: &[u64]) -> Option<VectorTimestamp> {
    Some(VectorTimestamp(entries.to_vec()))
}

/// n0 sends m1 to n1 (delivered twice: duplicated) and m2 to n2 (lost);
/// n1's handler emits; n2 crashes and restarts; a partition heals; the run
/// ends in a violation naming n1.
fn small_trace() -> Trace {
    let mut t = Trace::new();
    let n = |i| Some(NodeId(i));
    t.push(0, n(0), clock(&[1]), TraceKind::Start { incarnation: 0 });
    t.push(
        0,
        n(0),
        clock(&[2]),
        TraceKind::Send {
            to: NodeId(1),
            msg_id: 1,
            kind: "Ping".into(),
            msg: "Ping(1)".into(),
        },
    );
    t.push(
        0,
        n(0),
        clock(&[3]),
        TraceKind::Send {
            to: NodeId(2),
            msg_id: 2,
            kind: "Ping".into(),
            msg: "Ping(2)".into(),
        },
    );
    t.push(
        0,
        None,
        None,
        TraceKind::Drop {
            from: NodeId(0),
            to: NodeId(2),
            msg_id: 2,
            kind: "Ping".into(),
            reason: DropReason::Loss,
        },
    );
    t.push(
        0,
        None,
        None,
        TraceKind::Duplicate {
            from: NodeId(0),
            to: NodeId(1),
            msg_id: 1,
        },
    );
    t.push(
        2 * MS,
        n(1),
        clock(&[2, 1]),
        TraceKind::Deliver {
            from: NodeId(0),
            msg_id: 1,
            kind: "Ping".into(),
            msg: "Ping(1)".into(),
        },
    );
    t.set_state(5, "Node { pings: 1 }".into());
    t.push(
        2 * MS,
        n(1),
        clock(&[2, 2]),
        TraceKind::Emit {
            event: "Got(1)".into(),
        },
    );
    t.push(
        3 * MS,
        None,
        None,
        TraceKind::Partition {
            sides: vec![vec![NodeId(0)], vec![NodeId(1), NodeId(2)]],
        },
    );
    t.push(4 * MS, n(2), clock(&[0, 0, 1]), TraceKind::Crash);
    t.push(
        5 * MS,
        n(1),
        clock(&[2, 3]),
        TraceKind::Deliver {
            from: NodeId(0),
            msg_id: 1,
            kind: "Ping".into(),
            msg: "Ping(1)".into(),
        },
    );
    t.push(6 * MS, None, None, TraceKind::Heal);
    t.push(6 * MS, n(0), clock(&[4]), TraceKind::Pause);
    t.push(6 * MS, n(0), clock(&[5]), TraceKind::Resume);
    t.push(
        7 * MS,
        n(2),
        clock(&[0, 0, 2]),
        TraceKind::Restart { incarnation: 1 },
    );
    t.push(
        7 * MS,
        n(2),
        clock(&[0, 0, 3]),
        TraceKind::Start { incarnation: 1 },
    );
    t.push(
        7 * MS,
        None,
        None,
        TraceKind::Violation {
            property: "at most one".into(),
            detail: "n1 and n2 both hold it".into(),
        },
    );
    t
}

#[test]
fn messages_pair_sends_with_deliveries_duplicates_and_drops() {
    let data = ViewData::of(&small_trace());
    assert_eq!(data.nodes, 3);
    assert_eq!(data.kinds, vec!["Ping".to_string()]);
    assert_eq!(data.messages.len(), 2);
    let m1 = &data.messages[0];
    assert_eq!((m1.id, m1.from, m1.to, m1.send), (1, 0, 1, 1));
    assert_eq!(m1.recv, vec![5, 9], "both copies of the duplicate");
    assert!(m1.drop.is_empty());
    let m2 = &data.messages[1];
    assert_eq!((m2.send, m2.recv.len(), m2.drop.clone()), (2, 0, vec![3]));
}

#[test]
fn lamport_times_follow_the_node_and_the_send() {
    let data = ViewData::of(&small_trace());
    let lamport: Vec<Option<u64>> = data.events.iter().map(|e| e.l).collect();
    assert_eq!(
        lamport,
        vec![
            Some(1), // n0 start
            Some(2), // n0 send
            Some(3), // n0 send
            None,    // drop
            None,    // duplicate
            Some(3), // n1 delivers the send stamped 2: max(0 + 1, 2 + 1)
            Some(4), // n1 emit
            None,
            Some(1), // n2 crash
            Some(5), // n1's second copy: max(4 + 1, 2 + 1)
            None,
            Some(4), // n0 pauses
            Some(5), // and resumes
            Some(2),
            Some(3),
            None,
        ]
    );
    // Lamport times respect happens-before wherever the vector clocks say so.
    let trace = small_trace();
    for a in 0..trace.len() {
        for b in 0..trace.len() {
            if trace.happens_before(a, b) {
                assert!(data.events[a].l < data.events[b].l, "{a} -> {b}");
            }
        }
    }
}

#[test]
fn effects_point_at_their_handler_input_and_clocks_are_dense() {
    let data = ViewData::of(&small_trace());
    assert_eq!(data.events[1].h, Some(0), "a send inside start");
    assert_eq!(data.events[6].h, Some(5), "an emit inside a delivery");
    assert_eq!(data.events[5].h, Some(5), "an input is its own handler");
    assert_eq!(data.events[3].h, None, "network records have none");
    assert_eq!(data.events[5].c, Some(vec![2, 1, 0]));
    assert_eq!(data.events[5].s.as_deref(), Some("Node { pings: 1 }"));
}

#[test]
fn crashes_partitions_and_the_violation_become_intervals_and_highlights() {
    let data = ViewData::of(&small_trace());
    assert_eq!(data.down.len(), 1);
    assert_eq!(
        (data.down[0].node, data.down[0].start, data.down[0].end),
        (2, 8, Some(13))
    );
    assert_eq!(data.paused.len(), 1);
    assert_eq!(
        (
            data.paused[0].node,
            data.paused[0].start,
            data.paused[0].end
        ),
        (0, 11, Some(12))
    );
    assert_eq!(data.cuts.len(), 1);
    assert_eq!((data.cuts[0].start, data.cuts[0].end), (7, Some(10)));
    assert_eq!(data.cuts[0].label, "partition n0 | n1 n2");
    let v = data.violation.expect("the trace ends in a violation");
    assert_eq!((v.at, v.event), (15, Some(14)), "n2's start ran last");
    assert_eq!(v.named, vec![6, 14], "n1's emit and n2's last event");
}

#[test]
fn the_violating_event_is_the_input_of_the_last_handler() {
    // The handler that broke the property sent after its delivery.
    let mut t = Trace::new();
    let n0 = Some(NodeId(0));
    t.push(0, n0, clock(&[1]), TraceKind::Start { incarnation: 0 });
    t.push(
        MS,
        n0,
        clock(&[2]),
        TraceKind::Timer {
            timer: "Tick".into(),
        },
    );
    t.push(
        MS,
        n0,
        clock(&[3]),
        TraceKind::Emit {
            event: "Bad".into(),
        },
    );
    t.push(
        MS,
        n0,
        clock(&[4]),
        TraceKind::Emit {
            event: "Worse".into(),
        },
    );
    t.push(
        MS,
        None,
        None,
        TraceKind::Violation {
            property: "p".into(),
            detail: "nothing named; 'in0' and 'n0x' are not node names".into(),
        },
    );
    let v = ViewData::of(&t).violation.unwrap();
    assert_eq!(v.event, Some(1));
    assert!(v.named.is_empty());
}

#[test]
fn node_names_are_whole_words() {
    assert_eq!(named_nodes("n1 and n12 hold it; n1 again"), vec![1, 12]);
    assert_eq!(named_nodes("(n3)"), vec![3]);
    assert_eq!(named_nodes("in3 n3x n_3 n"), Vec::<u32>::new());
    assert_eq!(named_nodes("n99999999999 overflows"), Vec::<u32>::new());
}

#[test]
fn the_page_is_self_contained_and_escapes_what_it_quotes() {
    let mut trace = small_trace();
    trace.push(
        8 * MS,
        Some(NodeId(0)),
        clock(&[4]),
        TraceKind::Emit {
            event: "</script><b>".into(),
        },
    );
    let page = render(&trace, "a <title> & more", None);
    assert!(page.contains("<title>a &lt;title&gt; &amp; more · dsys</title>"));
    assert_eq!(
        page.matches("</script>").count(),
        2,
        "only the two real ends"
    );
    assert!(page.contains("\\u003c/script>\\u003cb>"));
    assert_eq!(
        page.matches("http").count(),
        page.matches("http://www.w3.org/2000/svg").count(),
        "no address but the SVG namespace"
    );
    assert!(!page.contains("src="), "nothing loaded from elsewhere");
    assert!(page.contains("<section id=\"violation\"><h2>at most one violated</h2>"));
    assert!(page.contains("<tr><td>Ping</td><td>2</td><td>2</td><td>1</td><td>1</td></tr>"));
    assert!(page.contains("<tr><td>n1</td><td>3</td><td>0</td><td>2</td></tr>"));
    // The data parses back.
    let start = page.find("id=\"trace-data\">").unwrap() + "id=\"trace-data\">".len();
    let end = start + page[start..].find("</script>").unwrap();
    let json: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
    assert_eq!(json["events"].as_array().unwrap().len(), trace.len());
    assert_eq!(json["drawn_max"], DRAWN_EVENTS_MAX);
}

#[test]
fn a_report_adds_its_verdicts_and_figures() {
    use crate::scenario::SimOptions;
    let report = Report {
        algorithm: "x".into(),
        options: SimOptions::default(),
        virtual_time: std::time::Duration::from_millis(7),
        events: 14,
        metrics: crate::sim::Metrics::default(),
        verdicts: vec![
            ("ME1".into(), Verdict::Holds),
            ("ME2".into(), Verdict::Violated("n1 waited".into())),
            ("ME3".into(), Verdict::Skipped("lossy".into())),
            ("E1".into(), Verdict::Expected("crashed".into())),
        ],
        figures: vec![("messages per entry".into(), "3.0".into())],
        byzantine: vec![],
    };
    let page = render(&small_trace(), "t", Some(&report));
    assert!(page.contains("<li class=\"holds\"><b>ME1</b> holds</li>"));
    assert!(page.contains("<li class=\"violated\"><b>ME2</b> VIOLATED: n1 waited</li>"));
    assert!(page.contains("<li class=\"skipped\"><b>ME3</b> skipped (lossy)</li>"));
    assert!(page.contains("<li class=\"expected\"><b>E1</b> violated, as expected: crashed</li>"));
    assert!(page.contains("<tr><td>messages per entry</td><td>3.0</td></tr>"));
    assert!(page.contains("<details><summary>The report</summary><pre>x on 3 nodes"));
    let without = render(&small_trace(), "t", None);
    assert!(!without.contains("Properties"));
}

#[test]
fn an_empty_trace_still_makes_a_page() {
    let page = render(&Trace::new(), "nothing", None);
    assert!(page.contains("0 events on 0 nodes"));
    assert!(!page.contains("id=\"violation\""));
}
