//! The browser and API harness proven on small pages and a small API served on loopback: steps
//! read what a person sees (texts, a click's effect, an SVG's points), axe-core passes an
//! accessible page and fails an inaccessible one, screenshots are PNG files kept as artifacts, a
//! request leaving the machine is reported, a failing step says which; schemathesis passes an
//! API that keeps its OpenAPI document and fails one that breaks it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use rampart_testkit::browser::{self, Error, Script};
use serde_json::{Value, json};

/// What the site answers: a status, a content type and a body.
type Answer = (u16, &'static str, String);

/// A tiny_http server on 127.0.0.1:0 answering from a thread; stopped on drop.
struct Site {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    base: String,
}

impl Site {
    /// Serves `handler(method, url, headers)`'s answers.
    fn start(
        handler: impl Fn(&str, &str, &BTreeMap<String, String>) -> (Answer, Vec<(String, String)>)
        + Send
        + 'static,
    ) -> Site {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let s = Arc::clone(&server);
        let thread = std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let headers: BTreeMap<String, String> = req
                    .headers()
                    .iter()
                    .map(|h| {
                        (
                            h.field.as_str().as_str().to_ascii_lowercase(),
                            h.value.as_str().to_string(),
                        )
                    })
                    .collect();
                let ((status, ctype, body), extra) =
                    handler(req.method().as_str(), req.url(), &headers);
                let mut resp = tiny_http::Response::from_string(body)
                    .with_status_code(status)
                    .with_header(
                        tiny_http::Header::from_bytes("Content-Type", ctype.as_bytes()).unwrap(),
                    );
                for (k, v) in extra {
                    resp.add_header(
                        tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap(),
                    );
                }
                let _ = req.respond(resp);
            }
        });
        Site {
            server,
            thread: Some(thread),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Serves fixed pages by path (404 otherwise).
    fn pages(pages: &[(&str, &'static str)]) -> Site {
        let pages: BTreeMap<String, &'static str> =
            pages.iter().map(|(p, b)| (p.to_string(), *b)).collect();
        Site::start(move |_, url, _| {
            let path = url.split('?').next().unwrap_or(url);
            let answer = match pages.get(path) {
                Some(body) => (200, "text/html; charset=utf-8", body.to_string()),
                None => (404, "text/plain", "not found".to_string()),
            };
            (answer, Vec::new())
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An accessible page: landmarks, a heading, an inline SVG chart, a button that reveals text,
/// a layout of boxes without images, and a labelled input.
const GOOD_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Layers of defense</title>
<style>
  body { font-family: sans-serif; margin: 0; color: #111; background: #fff; }
  header, main, footer { padding: 1rem 2rem; }
  .grid { display: grid; grid-template-columns: repeat(3, 1fr); gap: 1rem; }
  .card { border: 2px solid #333; border-radius: 6px; padding: 1rem; }
  .stands { border-color: #14632b; }
  .missing { border-color: #8b0000; }
  button { font-size: 1rem; padding: .5rem 1rem; color: #fff; background: #0b4ea2; border: 0; }
</style>
</head>
<body>
<header><h1>Layers of defense</h1></header>
<main>
  <section class="grid" aria-label="Layers">
    <div class="card stands"><h2>Image</h2><p>Stands</p></div>
    <div class="card stands"><h2>Admission</h2><p>Stands</p></div>
    <div class="card missing"><h2>Runtime</h2><p>Missing</p></div>
  </section>
  <h2>Findings over time</h2>
  <svg id="trend" role="img" aria-label="Findings per day: 9, 7, 4, 4, 2" width="300" height="100" viewBox="0 0 300 100">
    <polyline fill="none" stroke="#0b4ea2" stroke-width="2" points="0,10 75,30 150,60 225,60 300,80"/>
    <circle cx="0" cy="10" r="3"/><circle cx="150" cy="60" r="3"/><circle cx="300" cy="80" r="3"/>
  </svg>
  <p><button id="more" type="button" aria-expanded="false" aria-controls="details">Show details</button></p>
  <p id="details" hidden>Runtime: no seccomp profile on 2 workloads</p>
  <p><label for="filter">Filter</label> <input id="filter" type="search"></p>
  <ul id="rules"><li>IMG001</li><li>K8S004</li><li>VUL001</li></ul>
</main>
<footer><p>rampart</p></footer>
<script>
  document.getElementById('more').addEventListener('click', function () {
    document.getElementById('details').hidden = false;
    this.setAttribute('aria-expanded', 'true');
    this.textContent = 'Hide details';
  });
</script>
</body>
</html>
"##;

/// An inaccessible page: an image without alt text, an input without a label.
const BAD_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Bad</title></head>
<body>
<main>
  <h1>Bad page</h1>
  <img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" width="20" height="20">
  <input type="text">
</main>
</body>
</html>
"##;

/// A page that reaches outside the machine (a fetch and an image).
const OUTSIDE_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Outside</title></head>
<body>
<main>
  <h1>Calls home</h1>
  <img src="http://example.invalid/pixel.png" alt="">
  <p id="status">waiting</p>
</main>
<script>
  fetch('http://example.invalid/beacon')
    .then(function () { document.getElementById('status').textContent = 'reached'; })
    .catch(function () { document.getElementById('status').textContent = 'blocked'; });
</script>
</body>
</html>
"##;

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

#[test]
fn steps_read_texts_click_svg_points_axe_and_screenshot() {
    let site = Site::pages(&[("/", GOOD_PAGE)]);
    let artifacts = browser::artifacts_dir("steps_read_texts_click_svg_points_axe_and_screenshot");
    let shot = artifacts.join("page.png");
    let _ = std::fs::remove_file(&shot);
    let out = browser::drive(
        "steps_read_texts_click_svg_points_axe_and_screenshot",
        &[
            json!({"goto": site.url("/"), "as": "status"}),
            json!({"text": "h1", "as": "title"}),
            json!({"all_text": ".card h2", "as": "layers"}),
            json!({"count": "#rules li", "as": "rules"}),
            json!({"visible": "#details", "as": "details_before"}),
            json!({"attr": ["#more", "aria-expanded"], "as": "expanded_before"}),
            json!({"click": "#more"}),
            json!({"wait": "#details"}),
            json!({"text": "#details", "as": "details"}),
            json!({"text": "#more", "as": "button_after"}),
            json!({"attr": ["#more", "aria-expanded"], "as": "expanded_after"}),
            json!({"points": "#trend polyline", "as": "trend"}),
            json!({"count": "#trend circle", "as": "dots"}),
            json!({"attr_all": ["#trend circle", "cy"], "as": "dot_y"}),
            json!({"fill": ["#filter", "K8S"]}),
            json!({"eval": "document.getElementById('filter').value", "as": "filter"}),
            json!({"axe": true}),
            json!({"screenshot": "page"}),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(out.number("status"), Some(200.0));
    assert_eq!(out.text("title"), Some("Layers of defense"));
    assert_eq!(out.texts("layers"), ["Image", "Admission", "Runtime"]);
    assert_eq!(out.number("rules"), Some(3.0));
    // the click revealed the text and changed the button
    assert_eq!(out.value("details_before"), Some(&json!(false)));
    assert_eq!(out.text("expanded_before"), Some("false"));
    assert_eq!(
        out.text("details"),
        Some("Runtime: no seccomp profile on 2 workloads")
    );
    assert_eq!(out.text("button_after"), Some("Hide details"));
    assert_eq!(out.text("expanded_after"), Some("true"));
    // the SVG: five points of the polyline, three dots
    assert_eq!(
        out.value("trend"),
        Some(&json!([[0, 10], [75, 30], [150, 60], [225, 60], [300, 80]]))
    );
    assert_eq!(out.number("dots"), Some(3.0));
    assert_eq!(out.texts("dot_y"), ["10", "60", "80"]);
    assert_eq!(out.text("filter"), Some("K8S"));
    // accessible, quiet, self-contained
    assert_eq!(out.value("axe"), Some(&json!([])));
    assert!(out.problems().is_empty(), "{:#?}", out.problems());
    assert!(
        out.requests.iter().all(|u| u.starts_with(&site.base)),
        "{:?}",
        out.requests
    );
    assert_eq!(out.requests.first(), Some(&site.url("/")));
    // the screenshot is a PNG kept under target/test-artifacts/<test>/
    assert_eq!(out.screenshots.get("page"), Some(&shot));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(PNG_MAGIC),
        "{} is not a PNG",
        shot.display()
    );
    assert!(png.len() > 2000, "a blank screenshot? {} bytes", png.len());
    assert!(
        shot.starts_with(browser::target_dir().join("test-artifacts")),
        "{}",
        shot.display()
    );
}

#[test]
fn axe_fails_an_image_without_alt_and_an_input_without_label() {
    let site = Site::pages(&[("/bad", BAD_PAGE)]);
    let out = browser::drive(
        "axe_fails_an_image_without_alt_and_an_input_without_label",
        &[json!({"goto": site.url("/bad")}), json!({"axe": true})],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ids = out.violation_ids();
    assert!(ids.contains(&"image-alt"), "{:#?}", out.axe);
    assert!(ids.contains(&"label"), "{:#?}", out.axe);
    for v in &out.axe {
        assert!(
            ["serious", "critical"].contains(&v.impact.as_str()),
            "{v:?}"
        );
        assert!(!v.nodes.is_empty(), "{v:?}");
        assert!(v.help_url.starts_with("https://"), "{v:?}");
    }
    let img = out.axe.iter().find(|v| v.id == "image-alt").unwrap();
    assert!(img.nodes[0].html.starts_with("<img"), "{img:?}");
    assert!(
        out.problems()
            .iter()
            .any(|p| p.starts_with("axe image-alt")),
        "{:#?}",
        out.problems()
    );
    // the step's value is the same list
    assert_eq!(
        out.value("axe").and_then(Value::as_array).map(Vec::len),
        Some(out.axe.len())
    );
}

#[test]
fn a_request_leaving_the_machine_is_reported_and_blocked() {
    let site = Site::pages(&[("/outside", OUTSIDE_PAGE)]);
    let out = browser::drive(
        "a_request_leaving_the_machine_is_reported_and_blocked",
        &[
            json!({"goto": site.url("/outside")}),
            json!({"wait": "#status:not(:has-text('waiting'))", "state": "attached"}),
            json!({"text": "#status", "as": "status"}),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.outside_requests
            .contains(&"http://example.invalid/beacon".to_string()),
        "{:?}",
        out.outside_requests
    );
    assert!(
        out.outside_requests
            .contains(&"http://example.invalid/pixel.png".to_string()),
        "{:?}",
        out.outside_requests
    );
    // aborted before leaving: the page's fetch failed
    assert_eq!(out.text("status"), Some("blocked"));
    assert!(
        out.problems()
            .iter()
            .any(|p| p == "request leaving the machine: http://example.invalid/beacon"),
        "{:#?}",
        out.problems()
    );
    // the page's own request is not an outside one
    assert!(out.requests.contains(&site.url("/outside")));
    assert!(
        !out.outside_requests
            .iter()
            .any(|u| u.starts_with(&site.base))
    );
}

#[test]
fn a_file_page_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    // as a self-contained report may ship: a policy forbidding every script and fetch (axe still
    // runs: it is evaluated through the DevTools protocol, not injected as a script)
    let html = GOOD_PAGE.replace(
        "<meta charset=\"utf-8\">",
        "<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'; style-src 'unsafe-inline'\">",
    );
    let html = &html[..html.find("<script>").unwrap()];
    std::fs::write(&page, format!("{html}</body></html>")).unwrap();
    let out = browser::drive(
        "a_file_page_is_self_contained",
        &[
            json!({"goto": page.to_str().unwrap()}),
            json!({"text": "h1", "as": "title"}),
            json!({"eval": "document.querySelectorAll('script').length", "as": "scripts"}),
            json!({"axe": {"include": "main"}}),
            json!({"screenshot": "report"}),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.text("title"), Some("Layers of defense"));
    assert_eq!(out.number("scripts"), Some(0.0));
    assert_eq!(out.value("axe"), Some(&json!([])));
    assert!(out.problems().is_empty(), "{:#?}", out.problems());
    assert!(
        out.requests.iter().all(|u| u.starts_with("file://")),
        "{:?}",
        out.requests
    );
    let png = std::fs::read(&out.screenshots["report"]).unwrap();
    assert!(png.starts_with(PNG_MAGIC));
}

#[test]
fn a_failing_step_names_itself_and_leaves_a_screenshot() {
    let site = Site::pages(&[("/", GOOD_PAGE)]);
    let err = browser::drive(
        "a_failing_step_names_itself_and_leaves_a_screenshot",
        &[
            json!({"goto": site.url("/")}),
            json!({"click": "#no-such-button", "timeout": 1000}),
        ],
    )
    .unwrap_err();
    let Error::Step {
        message,
        step_index,
        screenshot,
        ..
    } = &err
    else {
        panic!("not a step error: {err}");
    };
    assert_eq!(*step_index, Some(1), "{err}");
    assert!(message.contains("#no-such-button"), "{message}");
    assert!(!message.contains('\x1b'), "{message:?}");
    let shot = screenshot.as_ref().expect("a failure screenshot");
    assert!(std::fs::read(shot).unwrap().starts_with(PNG_MAGIC));
    // an unknown action is refused, not ignored
    let err = browser::drive(
        "a_failing_step_names_itself_and_leaves_a_screenshot",
        &[json!({"goto": site.url("/")}), json!({"hover": "h1"})],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown step action \"hover\""),
        "{err}"
    );
}

#[test]
fn run_gives_a_scripts_json_and_its_stderr_on_failure() {
    let site = Site::pages(&[("/", GOOD_PAGE)]);
    let script = r#"
        const h = require('harness');
        h.main(async (state) => {
          const s = await h.open({ artifacts: process.cwd() });
          state.session = s;
          await s.goto(process.argv[2]);
          const heading = await s.text('h1');
          return s.finish({ heading, args: process.argv.slice(3) });
        });
    "#;
    let out = browser::run(Script::Text(script), &[&site.url("/"), "x", "y"]).unwrap();
    assert_eq!(out["values"]["heading"], "Layers of defense");
    assert_eq!(out["values"]["args"], json!(["x", "y"]));
    assert_eq!(out["outside_requests"], json!([]));

    // a file, which finds the pinned packages through NODE_PATH
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("versions.js");
    std::fs::write(
        &file,
        "console.log(JSON.stringify({axe: require('axe-core').version, \
         playwright: require('playwright-core/package.json').version, \
         args: process.argv.slice(2)}))",
    )
    .unwrap();
    let out = browser::run(Script::File(&file), &["a b"]).unwrap();
    assert_eq!(
        out,
        json!({"axe": "4.14.1", "playwright": "1.65.2", "args": ["a b"]})
    );

    let err = browser::run(
        Script::Text("console.error('broken on purpose'); process.exit(3);"),
        &[],
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Failed { .. }), "{text}");
    assert!(text.contains("broken on purpose"), "{text}");
    assert!(text.contains("exit status: 3"), "{text}");

    let err = browser::run(Script::Text("console.log('not json')"), &[]).unwrap_err();
    assert!(matches!(err, Error::Output { .. }), "{err}");
}

// -- schemathesis --------------------------------------------------------------------------------

const TOKEN: &str = "Bearer test-token";

/// Three read-only operations, bearer-protected but for the health check.
const OPENAPI: &str = r##"{
  "openapi": "3.0.3",
  "info": {"title": "rampart dashboard (test)", "version": "1"},
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
      "Error": {"type": "object", "required": ["error"], "additionalProperties": false,
                "properties": {"error": {"type": "string"}}},
      "Layer": {"type": "object", "required": ["name", "standing"], "additionalProperties": false,
                "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"},
                               "standing": {"type": "boolean"}}}
    },
    "responses": {
      "Error400": {"description": "bad request",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Error401": {"description": "no or a wrong token",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Error404": {"description": "no such layer",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  },
  "security": [{"bearer": []}],
  "paths": {
    "/api/health": {
      "get": {
        "operationId": "health",
        "security": [],
        "responses": {
          "200": {"description": "up",
                  "content": {"application/json": {"schema": {
                    "type": "object", "required": ["status"], "additionalProperties": false,
                    "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}}
        }
      }
    },
    "/api/layers": {
      "get": {
        "operationId": "listLayers",
        "parameters": [{"name": "limit", "in": "query", "required": false,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 50}}],
        "responses": {
          "200": {"description": "the layers",
                  "content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Layer"}}}}},
          "400": {"$ref": "#/components/responses/Error400"},
          "401": {"$ref": "#/components/responses/Error401"}
        }
      }
    },
    "/api/layers/{name}": {
      "get": {
        "operationId": "getLayer",
        "parameters": [{"name": "name", "in": "path", "required": true,
                        "schema": {"type": "string", "pattern": "^[a-z]+$"}}],
        "responses": {
          "200": {"description": "one layer",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Layer"}}}},
          "401": {"$ref": "#/components/responses/Error401"},
          "404": {"$ref": "#/components/responses/Error404"}
        }
      }
    }
  }
}"##;

const LAYERS: &[(&str, bool)] = &[("image", true), ("admission", true), ("runtime", false)];

/// The API of [`OPENAPI`]; `broken` answers the layer list with `standing` as a string. The
/// set holds the "METHOD path" of every request answered 200.
fn api(broken: bool) -> (Site, Arc<Mutex<BTreeSet<String>>>) {
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let log = Arc::clone(&seen);
    let site = Site::start(move |method, url, headers| {
        let (answer, extra) = answer(broken, method, url, headers);
        if answer.0 == 200 {
            let path = url.split('?').next().unwrap_or(url);
            log.lock().unwrap().insert(format!("{method} {path}"));
        }
        (answer, extra)
    });
    (site, seen)
}

fn answer(
    broken: bool,
    method: &str,
    url: &str,
    headers: &BTreeMap<String, String>,
) -> (Answer, Vec<(String, String)>) {
    {
        let json = |status: u16, body: Value| (status, "application/json", body.to_string());
        let err = |status: u16, msg: &str| json(status, json!({"error": msg}));
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let known = path == "/openapi.json"
            || path == "/api/health"
            || path == "/api/layers"
            || path.starts_with("/api/layers/");
        if known && method != "GET" {
            return (
                err(405, "method not allowed"),
                vec![("Allow".into(), "GET".into())],
            );
        }
        let authorized = headers.get("authorization").map(String::as_str) == Some(TOKEN);
        let answer = match path {
            "/openapi.json" => (200, "application/json", OPENAPI.to_string()),
            "/api/health" => json(200, json!({"status": "ok"})),
            _ if known && !authorized => err(401, "a bearer token is required"),
            "/api/layers" => {
                let mut limit = LAYERS.len();
                let mut bad = false;
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    if k == "limit" {
                        match v.parse::<usize>() {
                            Ok(n) if (1..=50).contains(&n) => limit = limit.min(n),
                            _ => bad = true,
                        }
                    }
                }
                if bad {
                    err(400, "limit: an integer from 1 to 50")
                } else {
                    let items: Vec<Value> = LAYERS
                        .iter()
                        .take(limit)
                        .map(|(n, s)| {
                            if broken {
                                json!({"name": n, "standing": if *s { "yes" } else { "no" }})
                            } else {
                                json!({"name": n, "standing": s})
                            }
                        })
                        .collect();
                    json(200, Value::Array(items))
                }
            }
            _ if known => {
                let name = path.trim_start_matches("/api/layers/");
                match LAYERS.iter().find(|(n, _)| *n == name) {
                    Some((n, s)) => json(200, json!({"name": n, "standing": s})),
                    None => err(404, "no such layer"),
                }
            }
            _ => err(404, "not found"),
        };
        (answer, Vec::new())
    }
}

#[test]
fn schemathesis_passes_an_api_that_keeps_its_document() {
    let (site, seen) = api(false);
    let check = browser::run_schemathesis(
        &site.url("/openapi.json"),
        &site.base,
        &[("Authorization", TOKEN)],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(check.passed, "{}", check.output);
    assert!(
        check.output.contains("3 selected / 3 total"),
        "{}",
        check.output
    );
    // it really called the three operations, with the token (the layers answer only then)
    let seen = seen.lock().unwrap().clone();
    for op in ["GET /api/health", "GET /api/layers"] {
        assert!(seen.contains(op), "{op} never answered 200: {seen:?}");
    }
    assert!(
        LAYERS
            .iter()
            .any(|(n, _)| seen.contains(&format!("GET /api/layers/{n}"))),
        "no layer fetched by name: {seen:?}"
    );
}

#[test]
fn schemathesis_fails_an_api_that_breaks_its_document() {
    let (site, _) = api(true);
    let check = browser::run_schemathesis(
        &site.url("/openapi.json"),
        &site.base,
        &[("Authorization", TOKEN)],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!check.passed, "{}", check.output);
    assert_eq!(check.status.code(), Some(1), "{}", check.output);
    assert!(
        check.output.contains("Response violates schema"),
        "{}",
        check.output
    );
    assert!(check.output.contains("/api/layers"), "{}", check.output);
}
