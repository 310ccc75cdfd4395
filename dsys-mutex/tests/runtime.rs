//! Ricart & Agrawala in the actix runtime over `LocalTransport`: the same
//! node as in the simulator, checked for ME1 on its events.
//!
//! Timeouts only guard against hangs; nothing here depends on speed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dsys_core::runtime::{Cluster, Events, LocalTransport, Transport};
use dsys_core::NodeId;
use dsys_mutex::properties::me1_events;
use dsys_mutex::ricart_agrawala::{Msg, RicartAgrawala};
use dsys_mutex::{Event, Request};

const HANG_GUARD: Duration = Duration::from_secs(60);

async fn wait_for(events: &mut Events<Event>, wanted: Event) {
    loop {
        match events.next_within(HANG_GUARD).await {
            Some(Ok(event)) if event == wanted => return,
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("event stream failed while waiting for {wanted:?}: {e}"),
            None => panic!("no {wanted:?} within {HANG_GUARD:?}"),
        }
    }
}

#[test]
fn ricart_agrawala_keeps_me1_in_the_actix_runtime() {
    let nodes = 4;
    let rounds = 5;
    // Every node's view, in real order: `Entered` is logged after the node
    // said so, `Exited` before the node is asked to exit, so the log never
    // shows an exit later than it happened.
    let log: Arc<Mutex<Vec<(NodeId, Event)>>> = Arc::default();
    let entries = actix_rt::System::new().block_on({
        let log = Arc::clone(&log);
        async move {
            let transport: Arc<dyn Transport<Msg>> = Arc::new(LocalTransport::new());
            let cluster = Cluster::builder(nodes)
                .seed(3)
                .transport(transport)
                .start(|_| RicartAgrawala::new());
            let mut tasks = Vec::new();
            for handle in cluster.nodes() {
                let handle = handle.clone();
                let log = Arc::clone(&log);
                tasks.push(actix_rt::spawn(async move {
                    let mut events = handle.subscribe();
                    for _ in 0..rounds {
                        handle.request(Request::Enter).unwrap();
                        wait_for(&mut events, Event::Entered).await;
                        log.lock().unwrap().push((handle.id(), Event::Entered));
                        actix_rt::time::sleep(Duration::from_millis(1)).await;
                        log.lock().unwrap().push((handle.id(), Event::Exited));
                        handle.request(Request::Exit).unwrap();
                        wait_for(&mut events, Event::Exited).await;
                    }
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            cluster.stop();
            log.lock()
                .unwrap()
                .iter()
                .filter(|(_, e)| *e == Event::Entered)
                .count()
        }
    });
    assert_eq!(entries, nodes * rounds, "ME2: every request was served");
    let log = log.lock().unwrap().clone();
    assert_eq!(me1_events(log), Ok(()));
}
