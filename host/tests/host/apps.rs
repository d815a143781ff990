//! The reference applications run end to end in one process, under different setups: every task
//! runs exactly as often as the call graph says, with the right mode, in the right function.


use fusion_test_artifacts::*;
use fusion_host::telemetry::Record;
use fusion_host::{CallMode, FusionSetup, RuntimeConfig, TraceContext};
use CallMode::{Async, Sync};

const REQUESTS: usize = 3;

/// Runs `REQUESTS` requests with small work sizes and returns the records.
async fn run(app: &str, setup: &FusionSetup) -> Vec<Record> {
    run_with(app, setup, SMALL_WORK).await
}

/// Runs `REQUESTS` requests of `payload` and returns the records, checking every response is a
/// success.
async fn run_with(app: &str, setup: &FusionSetup, payload: &str) -> Vec<Record> {
    let app = start(app, setup.clone(), RuntimeConfig::default());
    for _ in 0..REQUESTS {
        let out = app.cluster.request(TraceContext::new_request(), payload.as_bytes().to_vec()).await;
        let out: serde_json::Value = serde_json::from_slice(&out.expect("request succeeds")).unwrap();
        assert!(out.is_object(), "entry answered {out}");
        app.cluster.drain().await;
    }
    app.sink.take()
}

/// Every span ran in the function the setup puts it in, and crossed a boundary iff it had to.
fn check_placement(records: &[Record], setup: &FusionSetup) {
    let all = spans(records);
    for span in &all {
        let Some(parent) = &span.parent_span else {
            assert_eq!(span.function, span.task, "an external request runs in F(task)");
            continue;
        };
        let caller = all.iter().find(|s| &s.span_id == parent).expect("parent span recorded");
        let local = setup.is_local(&caller.function, &span.task);
        assert_eq!(span.remote, !local, "{} → {} under {}", caller.task, span.task, setup.describe());
        let expected_function = if local { &caller.function } else { &span.task };
        assert_eq!(&span.function, expected_function, "{} ran in the wrong function", span.task);
        assert!(span.error.is_none(), "{} failed: {:?}", span.task, span.error);
    }
}

fn invocations(records: &[Record]) -> usize {
    records.iter().filter(|r| matches!(r, Record::Invocation(_))).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iot_call_graph_holds_under_every_setup() {
    let n = REQUESTS;
    let graph = expect(&[
        ("client", "I", Sync, n),
        ("I", "CW", Sync, n),
        ("I", "SE", Sync, n),
        ("I", "CT", Async, n),
        ("I", "CS", Async, n),
        ("I", "CA", Async, n),
        ("CS", "CSL", Sync, n),
        ("CS", "CSA", Sync, n),
        ("CA", "DJ", Sync, n),
        ("CA", "AS", Async, n),
        ("CT", "AS", Async, n),
    ]);
    // One invocation per request under all-local; one per task execution under all-remote;
    // the published optimum keeps I+CW+SE, CS+CSL+CSA and CA+DJ together: I, CT, CS, CA, AS×2.
    for (name, invocations_per_request) in [("all-local", 1), ("all-remote", 11), ("fusionize-optimum", 6)] {
        let setup = setup("iot", name);
        let records = run("iot", &setup).await;
        assert_eq!(edges(&records), graph, "iot under {name}");
        check_placement(&records, &setup);
        assert_eq!(invocations(&records), invocations_per_request * n, "iot invocations under {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_call_graph_holds_under_every_setup() {
    let n = REQUESTS;
    let graph = expect(&[
        ("client", "A", Sync, n),
        ("A", "B", Sync, n),
        ("A", "C", Async, n),
        ("B", "D", Sync, n),
        ("D", "E", Sync, n),
        ("C", "F", Async, n),
        ("C", "G", Async, n),
    ]);
    for (name, invocations_per_request) in [("all-local", 1), ("all-remote", 7), ("fusionize-optimum", 4)] {
        let setup = setup("tree", name);
        let records = run("tree", &setup).await;
        assert_eq!(edges(&records), graph, "tree under {name}");
        check_placement(&records, &setup);
        assert_eq!(invocations(&records), invocations_per_request * n, "tree invocations under {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fused_async_work_finishes_after_the_response_but_inside_the_invocation() {
    // Tree all-local: A answers once B's chain is done; C, F and G keep burning afterwards, and
    // the invocation (what Lambda bills) lasts until they end.
    let setup = setup("tree", "all-local");
    let app = start("tree", setup, RuntimeConfig::default());
    let payload = br#"{"work":{"burn":6.0,"burn_reps":1,"sleep_ms":0}}"#.to_vec();
    app.cluster.request(TraceContext::new_request(), payload).await.expect("request succeeds");
    app.cluster.drain().await;
    let records = app.sink.take();
    let Some(Record::Invocation(inv)) = records.iter().find(|r| matches!(r, Record::Invocation(_))) else {
        panic!("no invocation record");
    };
    let g = spans(&records).into_iter().find(|s| s.task == "G").expect("G ran");
    assert!(inv.duration_us >= inv.response_us, "invocation ends after its response");
    assert!(g.start_us + g.duration_us <= inv.start_us + inv.duration_us, "G ended inside the invocation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webshop_call_graph_holds_for_every_operation() {
    let n = REQUESTS;
    let home = expect(&[
        ("client", "frontend", Sync, n),
        ("frontend", "supportedcurrencies", Sync, n),
        ("frontend", "listproducts", Sync, n),
        ("frontend", "currency", Sync, 11 * n),
        ("frontend", "getads", Sync, n),
        ("frontend", "getcart", Sync, n),
        ("getcart", "cartkvstorage", Sync, n),
        ("frontend", "listrecommendations", Sync, n),
        ("listrecommendations", "listproducts", Sync, n),
    ]);
    // The user's cart is empty (each test app has a store of its own): only shipping is priced.
    let checkout = expect(&[
        ("client", "frontend", Sync, n),
        ("frontend", "checkout", Async, n),
        ("checkout", "getcart", Sync, n),
        ("getcart", "cartkvstorage", Sync, n),
        ("checkout", "listproducts", Sync, n),
        ("checkout", "currency", Sync, n),
        ("checkout", "shipmentquote", Sync, n),
        ("checkout", "payment", Sync, n),
        ("checkout", "shiporder", Async, n),
        ("checkout", "email", Async, n),
        ("checkout", "emptycart", Async, n),
        ("emptycart", "cartkvstorage", Async, n),
    ]);
    let product = expect(&[
        ("client", "frontend", Sync, n),
        ("frontend", "getproduct", Sync, n),
        ("getproduct", "listproducts", Sync, n),
        ("frontend", "currency", Sync, n),
    ]);
    let search = expect(&[("client", "frontend", Sync, n), ("frontend", "searchproducts", Sync, n), ("searchproducts", "listproducts", Sync, n)]);
    let work = r#""work":{"burn":2.0,"sieve":2000,"db_ms":1}"#;
    for name in ["all-local", "all-remote"] {
        let setup = setup("webshop", name);
        for (op, graph) in [("get", &home), ("checkout", &checkout), ("product", &product), ("search", &search)] {
            let records = run_with("webshop", &setup, &format!(r#"{{"op":"{op}","user_id":"u7",{work}}}"#)).await;
            assert_eq!(&edges(&records), graph, "webshop {op} under {name}");
            check_placement(&records, &setup);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webshop_keeps_a_real_cart_whatever_the_setup() {
    for name in ["all-local", "all-remote"] {
        let app = start("webshop", setup("webshop", name), RuntimeConfig::default());
        let shop = |payload: serde_json::Value| {
            let cluster = app.cluster.clone();
            async move {
                let out = cluster.request(TraceContext::new_request(), payload.to_string().into_bytes()).await.expect("request succeeds");
                cluster.drain().await;
                serde_json::from_slice::<serde_json::Value>(&out).unwrap()
            }
        };
        let user = serde_json::json!("u-cart");
        for (product, quantity) in [("3", 2), ("5", 1), ("3", 1)] {
            shop(serde_json::json!({ "op": "addcart", "user_id": user, "product_id": product, "quantity": quantity })).await;
        }
        let cart = shop(serde_json::json!({ "op": "cart", "user_id": user })).await;
        let items = serde_json::json!([{ "product_id": "3", "quantity": 3 }, { "product_id": "5", "quantity": 1 }]);
        assert_eq!(cart["cart"], items, "{name}: every item added, quantities summed: {cart}");
        assert!(shop(serde_json::json!({ "op": "cart", "user_id": "someone-else" })).await["cart"] == serde_json::json!([]), "{name}: carts are per user");

        // Checkout reads the cart (two items priced, plus shipping) and empties it afterwards.
        app.sink.take();
        shop(serde_json::json!({ "op": "checkout", "user_id": user })).await;
        let records = app.sink.take();
        let conversions = spans(&records).iter().filter(|s| s.task == "currency").count();
        assert_eq!(conversions, 3, "{name}: two items and shipping converted");
        let cart = shop(serde_json::json!({ "op": "cart", "user_id": user })).await;
        assert_eq!(cart["cart"], serde_json::json!([]), "{name}: checkout emptied the cart: {cart}");
        let kv_ops: u64 = spans(&records).iter().filter(|s| s.task == "cartkvstorage").map(|s| s.kv_ops).sum();
        assert!(kv_ops >= 5, "{name}: the store operations are in the spans ({kv_ops})");
    }
}
