//! A real browser for page tests: headless Chromium driven through
//! chromedriver (WebDriver, with [`fantoccini`]) against a server of this
//! test process, with the checks every page must pass: axe-core finds no
//! serious or critical violation, and a 390 px wide phone needs no
//! horizontal scrolling.
//!
//! The tools are the machine's, not the repository's: `chromedriver` and a
//! Chromium (`chromium`, `chromium-browser` or `google-chrome`) on `PATH`,
//! or where `REGENTRA_CHROMEDRIVER` and `REGENTRA_CHROMIUM` say, and
//! axe-core's `axe.min.js` under `target/test-tools/` (or at
//! `REGENTRA_AXE_JS`). `.ci/run` installs all three. Without them a test
//! says on one line that it is skipped, unless the run requires them
//! (`CI` set, or `REGENTRA_REQUIRE_BROWSER=1`): then it fails, so CI can
//! never pass without having run the browser.
//!
//! Each [`Chromium`] is a chromedriver of its own (on a port it picks
//! itself), one headless Chromium with a profile in a temporary directory,
//! all in one process group that is killed when the value is dropped, so
//! a test that panics leaves nothing running. At most [`AT_ONCE`] run at a
//! time: a browser is several processes, and the machine has few cores.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::Endpoint;

/// How many browsers run at once in this test process.
pub const AT_ONCE: usize = 2;

static SLOTS: Semaphore = Semaphore::const_new(AT_ONCE);

/// How long a wait for something on the page lasts before it fails. Long:
/// a loaded machine is slow, and a wait ends as soon as the page is there.
const PATIENCE: Duration = Duration::from_secs(30);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// The desktop window every test starts in.
const WINDOW: (u32, u32) = (1280, 900);

/// The phone every page must fit (an iPhone 12 to 15's CSS viewport).
pub const PHONE: (u32, u32) = (390, 844);

/// The browser test tools found on this machine.
struct Tools {
    chromedriver: PathBuf,
    chromium: PathBuf,
    axe: String,
}

/// The tools, or why the browser tests cannot run here (looked up once).
fn tools() -> &'static Result<Tools, String> {
    static TOOLS: OnceLock<Result<Tools, String>> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let chromedriver = from_env_or_path("REGENTRA_CHROMEDRIVER", &["chromedriver"]);
        let chromium = from_env_or_path(
            "REGENTRA_CHROMIUM",
            &[
                "chromium",
                "chromium-browser",
                "google-chrome",
                "google-chrome-stable",
            ],
        );
        let (Some(chromedriver), Some(chromium)) = (chromedriver, chromium) else {
            return Err("no chromium/chromedriver on this machine; .ci/run installs them".into());
        };
        let axe_path = axe_path();
        let axe = std::fs::read_to_string(&axe_path).map_err(|e| {
            format!(
                "no axe-core at {} ({e}); .ci/run installs it",
                axe_path.display()
            )
        })?;
        Ok(Tools {
            chromedriver,
            chromium,
            axe,
        })
    })
}

/// `$var` if set, else the first of `names` found on `PATH`.
fn from_env_or_path(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Where `.ci/run` installs axe-core: `target/test-tools/` at the root of
/// the workspace (git-ignored, like all of `target/`).
fn axe_path() -> PathBuf {
    match std::env::var_os("REGENTRA_AXE_JS").filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => workspace().join("target/test-tools/node_modules/axe-core/axe.min.js"),
    }
}

/// The workspace's root directory.
fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("regentra-http is in the workspace")
}

/// Whether a missing browser fails the test rather than skipping it:
/// `REGENTRA_REQUIRE_BROWSER` when set (`1` or `0`), else whether `CI` is.
fn required() -> bool {
    let set = |var: &str| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| !matches!(v.trim(), "0" | "false"))
    };
    set("REGENTRA_REQUIRE_BROWSER")
        .or_else(|| set("CI"))
        .unwrap_or(false)
}

/// chromedriver and the Chromium it started, in a process group of their
/// own: dropping this kills the whole group, then removes the profile.
struct Driver {
    child: Child,
    url: String,
    /// The profile, chromedriver's log and Chromium's config and cache.
    dir: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (`process_group(0)`);
        // Chromium and its helpers are in it too.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver on a port it picks (`--port=0`) and waits for
    /// it to say which. It picks a free port and then binds it, so another
    /// process may take the port in between ("bind() failed: Address
    /// already in use"): a start that reports no port is tried again, up
    /// to three times.
    fn start(tools: &Tools) -> Driver {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(tools) {
                Ok(driver) => return driver,
                Err(log) => last = log,
            }
        }
        panic!("chromedriver did not say which port it listens on:\n{last}")
    }

    fn try_start(tools: &Tools) -> Result<Driver, String> {
        use std::os::unix::process::CommandExt as _;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = std::fs::File::create(dir.path().join("chromedriver.log")).expect("a log file");
        let mut child = Command::new(&tools.chromedriver)
            .arg("--port=0")
            .process_group(0)
            // Chromium's own files (crash reports, caches, the singleton
            // socket it would leave in /tmp when killed) go in the
            // temporary directory too, removed with it.
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .env("TMPDIR", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", tools.chromedriver.display()));
        let stdout = child.stdout.take().expect("stdout");
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        // Reads on to the end, so chromedriver never writes to a closed pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split_once("started successfully on port ")
                    .and_then(|(_, rest)| rest.trim_end_matches('.').parse::<u16>().ok())
                {
                    let _ = port_tx.send(port);
                }
            }
        });
        let mut driver = Driver {
            child,
            url: String::new(),
            dir,
        };
        match port_rx.recv_timeout(PATIENCE) {
            Ok(port) => {
                driver.url = format!("http://127.0.0.1:{port}");
                Ok(driver)
            }
            // Dropping the driver kills what was started.
            Err(_) => Err(driver.log()),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default()
    }
}

/// A Chromium DevTools command, sent through chromedriver (for what
/// WebDriver has no command for: the phone's viewport).
#[derive(Debug)]
struct Cdp {
    method: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(json!({ "cmd": self.method, "params": self.params }).to_string()),
        )
    }
}

/// One axe-core violation, with the elements it was found on.
#[derive(Debug, Clone)]
pub struct Violation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub help_url: String,
    /// A CSS selector per element.
    pub targets: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] {}: {} ({})\n      on {}",
            self.impact,
            self.id,
            self.help,
            self.help_url,
            self.targets.join("\n         ")
        )
    }
}

/// A headless Chromium on one server, and the helpers page tests use.
/// Every helper panics, saying what it was doing and what the page showed,
/// when the browser cannot do it.
pub struct Chromium {
    client: Client,
    base: String,
    /// Drop order: the WebDriver client, then the processes, then the slot.
    _driver: Driver,
    _slot: SemaphorePermit<'static>,
}

impl Chromium {
    /// A browser on `server`'s pages, or `None` (after saying on one line
    /// that this test is skipped) when the machine has no browser or no
    /// axe-core and the run does not require them. Waits for a free slot
    /// when [`AT_ONCE`] browsers are running.
    pub async fn open(server: &Endpoint) -> Option<Chromium> {
        let tools = match tools() {
            Ok(tools) => tools,
            Err(why) if required() => panic!(
                "the browser tests must run here (CI or REGENTRA_REQUIRE_BROWSER is set), but {why}"
            ),
            Err(why) => {
                skipped(why);
                return None;
            }
        };
        let slot = SLOTS
            .acquire()
            .await
            .expect("the semaphore is never closed");
        // Starting it waits on a pipe: off the test's runtime, which also
        // runs the server.
        let driver = tokio::task::spawn_blocking(|| Driver::start(tools))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let profile = driver.dir.path().join("profile");
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": tools.chromium,
                "args": [
                    "--headless=new",
                    // Tests run as root, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    // /dev/shm is small in containers.
                    "--disable-dev-shm-usage",
                    format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                    format!("--user-data-dir={}", profile.display()),
                    "--no-first-run",
                    "--no-default-browser-check",
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("a Chromium session: {e}\n{}", driver.log()));
        Some(Chromium {
            client,
            base: server.base.clone(),
            _driver: driver,
            _slot: slot,
        })
    }

    /// The WebDriver client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `path` on the server (or a full URL) and waits for it to load.
    pub async fn goto(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The path of the page shown (without the query).
    pub async fn current_path(&self) -> String {
        self.current_url().await.path().to_owned()
    }

    pub async fn current_url(&self) -> url::Url {
        self.client.current_url().await.expect("the current URL")
    }

    /// The text the page shows (hidden elements left out).
    pub async fn text(&self) -> String {
        self.script(
            "return document.body ? document.body.innerText : '';",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Runs `script` (a function body; `arguments` holds `args`).
    pub async fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until the page shows `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let found = self
            .wait_until(|| async {
                self.client
                    .execute(
                        "return !!document.body && document.body.innerText.includes(arguments[0]);",
                        vec![json!(text)],
                    )
                    .await
                    .is_ok_and(|shown| shown == json!(true))
            })
            .await;
        if !found {
            self.fail(&format!("the page never showed {text:?}")).await;
        }
    }

    /// Waits until the browser is on `path`.
    pub async fn wait_for_path(&self, path: &str) {
        let arrived = self
            .wait_until(|| async {
                self.client
                    .current_url()
                    .await
                    .is_ok_and(|url| url.path() == path)
            })
            .await;
        if !arrived {
            self.fail(&format!("the browser never got to {path}")).await;
        }
    }

    /// Polls `ready` until it holds or [`PATIENCE`] runs out: whether it
    /// held. A slow machine only makes a passing wait longer.
    async fn wait_until<F, Fut>(&self, mut ready: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        self.wait_for(|| {
            let ready = ready();
            async move { ready.await.then_some(()) }
        })
        .await
        .is_some()
    }

    /// Polls `found` until it finds something or [`PATIENCE`] runs out.
    async fn wait_for<T, F, Fut>(&self, mut found: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(it) = found().await {
                return Some(it);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Panics with `what`, where the browser is and what it shows, and
    /// where a screenshot of it is.
    async fn fail(&self, what: &str) -> ! {
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|e| format!("(no URL: {e})"));
        let text = self
            .client
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
            .map(|t| t.as_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let test = std::thread::current()
            .name()
            .unwrap_or("browser")
            .replace("::", "-");
        let shot = self.screenshot(&test).await;
        panic!(
            "{what}\n  at {url}\n  screenshot: {}\n  the page shows:\n{text}",
            shot.display()
        );
    }

    /// Saves what the browser shows as `target/browser-screenshots/{name}.png`
    /// (git-ignored), for a person to look at: the path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = workspace().join("target/browser-screenshots");
        let path = dir.join(format!("{name}.png"));
        let saved = match self.client.screenshot().await {
            Ok(png) => std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&path, png))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match saved {
            Ok(()) => path,
            Err(e) => PathBuf::from(format!("(none: {e})")),
        }
    }

    /// The form field labelled `label` (its `<label>`'s text, its
    /// `aria-label`), else the one named `label`.
    pub async fn field(&self, label: &str) -> Element {
        match self.field_now(label).await {
            Ok(field) => field,
            Err(_) => {
                self.fail(&format!("no field labelled or named {label:?}"))
                    .await
            }
        }
    }

    async fn field_now(&self, label: &str) -> Result<Element, fantoccini::error::CmdError> {
        let text = xpath_literal(label);
        let xpath = format!(
            "//*[self::input or self::textarea or self::select][\
               @id = //label[normalize-space(.) = {text}]/@for \
               or ancestor::label[normalize-space(.) = {text}] \
               or @aria-label = {text} or @name = {text}]"
        );
        self.client.find(Locator::XPath(&xpath)).await
    }

    /// Types `value` into the field labelled (or named) `label`, replacing
    /// what it held.
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {label:?}: {e}"));
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into {label:?}: {e}"));
    }

    /// What the field's value is now.
    pub async fn field_value(&self, label: &str) -> String {
        let field = self.field(label).await;
        field
            .prop("value")
            .await
            .unwrap_or_else(|e| panic!("the value of {label:?}: {e}"))
            .unwrap_or_default()
    }

    /// The text that describes the field to assistive technology (the
    /// elements its `aria-describedby` names: hints, errors).
    pub async fn field_description(&self, label: &str) -> String {
        let field = self.field(label).await;
        self.describe(&field).await.1
    }

    /// Whether `field` is marked invalid, and its description.
    async fn describe(&self, field: &Element) -> (bool, String) {
        self.try_describe(field)
            .await
            .unwrap_or_else(|e| panic!("the description of a field: {e}"))
    }

    /// [`Self::describe`], or the error when the field is gone (the page
    /// changed under it).
    async fn try_describe(
        &self,
        field: &Element,
    ) -> Result<(bool, String), fantoccini::error::CmdError> {
        let found = self
            .client
            .execute(
                "const f = arguments[0]; \
                 const text = (f.getAttribute('aria-describedby') || '').split(/\\s+/) \
                   .map((id) => id && document.getElementById(id)).filter(Boolean) \
                   .map((e) => e.innerText.trim()).join(' '); \
                 return [f.getAttribute('aria-invalid') === 'true', text];",
                vec![serde_json::to_value(field).expect("an element reference")],
            )
            .await?;
        Ok((
            found[0] == json!(true),
            found[1].as_str().unwrap_or_default().to_owned(),
        ))
    }

    /// Waits until the field labelled `label` is marked invalid and says
    /// why where assistive technology reads it; the reason.
    pub async fn wait_for_field_error(&self, label: &str) -> String {
        let reason = self
            .wait_for(|| async {
                let field = self.field_now(label).await.ok()?;
                let (invalid, reason) = self.try_describe(&field).await.ok()?;
                (invalid && !reason.is_empty()).then_some(reason)
            })
            .await;
        match reason {
            Some(reason) => reason,
            None => {
                self.fail(&format!("{label:?} was never marked invalid with a reason"))
                    .await
            }
        }
    }

    /// Clicks the field labelled `label` (a checkbox, a radio button).
    pub async fn click_field(&self, label: &str) {
        self.field(label)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {label:?}: {e}"));
    }

    /// Clicks the button or link whose text is `target` (a submit input's
    /// value counts), else the element the CSS selector `target` finds.
    pub async fn click(&self, target: &str) {
        let text = xpath_literal(target);
        let xpath = format!(
            "//*[self::button or self::a or self::summary][normalize-space(.) = {text}] \
             | //input[@type = 'submit' or @type = 'button'][@value = {text}]"
        );
        let element = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(element) => element,
            Err(_) => match self.client.find(Locator::Css(target)).await {
                Ok(element) => element,
                Err(_) => {
                    self.fail(&format!("no button, link or element {target:?} to click"))
                        .await
                }
            },
        };
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {target:?}: {e}"));
    }

    /// Clicks `target` (as [`Chromium::click`]) that loads another page (a
    /// form's submit button, a link), and waits until the new page has
    /// loaded: text that the old page shows too is then not mistaken for
    /// the answer.
    pub async fn click_and_load(&self, target: &str) {
        self.script("window.regentraPageBefore = true;", vec![])
            .await;
        self.click(target).await;
        for _ in 0..200 {
            let replaced = self
                .client
                .execute(
                    "return window.regentraPageBefore === undefined \
                     && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if matches!(replaced, Ok(Value::Bool(true))) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.fail(&format!("clicking {target:?} loaded no new page"))
            .await;
    }

    /// Submits the form of the focused field (else the page's only form)
    /// with its submit button, as a person would.
    pub async fn submit(&self) {
        const BUTTON: &str = "//*[(self::button and (not(@type) or @type = 'submit')) \
                              or (self::input and @type = 'submit')]";
        let in_focused_form = format!("./ancestor::form[1]{BUTTON}");
        let button = match self.client.active_element().await {
            Ok(focused) => focused.find(Locator::XPath(&in_focused_form)).await.ok(),
            Err(_) => None,
        };
        let button = match button {
            Some(button) => Some(button),
            None => match self.client.find_all(Locator::Css("form")).await {
                Ok(forms) if forms.len() == 1 => forms[0]
                    .find(Locator::XPath(&format!(".{BUTTON}")))
                    .await
                    .ok(),
                _ => None,
            },
        };
        match button {
            Some(button) => button.click().await.expect("click the submit button"),
            None => self.fail("no form (with a submit button) to submit").await,
        }
    }

    /// Presses and releases `key` in whatever has the focus.
    pub async fn press(&self, key: Key) {
        let key: char = key.into();
        self.keys(
            KeyActions::new("keyboard".into())
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key }),
        )
        .await;
    }

    pub async fn press_tab(&self) {
        self.press(Key::Tab).await;
    }

    pub async fn press_enter(&self) {
        self.press(Key::Enter).await;
    }

    /// Types `text` with the keyboard into whatever has the focus.
    pub async fn type_text(&self, text: &str) {
        let mut keys = KeyActions::new("keyboard".into());
        for c in text.chars() {
            keys = keys
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.keys(keys).await;
    }

    async fn keys(&self, keys: KeyActions) {
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("keys: {e}"));
    }

    /// The accessible name of the focused element, as a screen reader
    /// would announce it, roughly: its label, `aria-label` or
    /// `aria-labelledby`, else its text (a button, a link) or value.
    /// Empty when nothing but the page has the focus.
    pub async fn focused_element_label(&self) -> String {
        self.script(
            "const el = document.activeElement; \
             if (!el || el === document.body) return ''; \
             const byIds = (ids) => ids.split(/\\s+/) \
               .map((id) => document.getElementById(id)) \
               .filter(Boolean).map((e) => e.innerText).join(' '); \
             const name = (el.labels && el.labels.length && el.labels[0].innerText) \
               || el.getAttribute('aria-label') \
               || (el.getAttribute('aria-labelledby') && byIds(el.getAttribute('aria-labelledby'))) \
               || el.innerText || el.value || ''; \
             return name.replace(/\\s+/g, ' ').trim();",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Fails unless the focused element shows that it has the focus (an
    /// outline, as the stylesheet gives everything under `:focus-visible`).
    pub async fn assert_focus_visible(&self) {
        let outline = self
            .script(
                "const s = getComputedStyle(document.activeElement); \
                 return s.outlineStyle === 'none' || parseFloat(s.outlineWidth) === 0 \
                   ? null : s.outlineWidth + ' ' + s.outlineStyle;",
                vec![],
            )
            .await;
        if outline.is_null() {
            let label = self.focused_element_label().await;
            self.fail(&format!("{label:?} has the focus but shows no outline"))
                .await;
        }
    }

    /// Makes the page a phone's: `width` by `height` CSS pixels, touch,
    /// the viewport `<meta>` obeyed. Stays for later pages of this browser
    /// until [`Self::desktop`].
    pub async fn set_viewport(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": height,
                "deviceScaleFactor": 3,
                "mobile": true,
            }),
        )
        .await;
    }

    /// Back to the desktop window.
    pub async fn desktop(&self) {
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
    }

    async fn cdp(&self, method: &'static str, params: Value) {
        self.client
            .issue_cmd(Cdp { method, params })
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
    }

    /// What sticks out sideways: `None` when the page is no wider than
    /// the layout viewport, else the widths and the elements that reach
    /// past its right edge. A phone shrinks a page that is too wide to fit
    /// (then `innerWidth` grows with it), so the edge is the layout
    /// viewport's (`clientWidth` of the root), which the viewport `<meta>`
    /// sets to the phone's width.
    pub async fn horizontal_overflow(&self) -> Option<String> {
        let found = self
            .script(
                "const root = document.documentElement; \
                 const edge = root.clientWidth; \
                 if (root.scrollWidth <= window.innerWidth && window.innerWidth <= edge) \
                   return null; \
                 const past = [...document.body.querySelectorAll('*')] \
                   .filter((e) => e.getBoundingClientRect().right > edge + 0.5) \
                   .slice(-5) \
                   .map((e) => e.tagName.toLowerCase() \
                     + (e.id ? '#' + e.id : '') \
                     + (typeof e.className === 'string' && e.className.trim() \
                        ? '.' + e.className.trim().split(/\\s+/).join('.') : '') \
                     + ' (right edge at ' + Math.round(e.getBoundingClientRect().right) + ' px)'); \
                 return 'the page is ' + root.scrollWidth + ' px wide on a screen ' + edge \
                   + ' px wide (the browser shows ' + window.innerWidth + ' px); past the edge: ' \
                   + past.join(', ');",
                vec![],
            )
            .await;
        found.as_str().map(str::to_owned)
    }

    /// Fails unless the page fits the viewport's width.
    pub async fn assert_no_horizontal_overflow(&self) {
        if let Some(overflow) = self.horizontal_overflow().await {
            self.fail(&overflow).await;
        }
    }

    /// Waits until the page's document has loaded (a replaced page's new
    /// one included).
    async fn wait_for_document(&self) {
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let state = self
                .client
                .execute("return document.readyState;", vec![])
                .await;
            if matches!(state, Ok(Value::String(s)) if s == "complete") {
                return;
            }
        }
    }

    /// Runs axe-core on the page: every violation it reports, whatever its
    /// impact. axe is injected through WebDriver's script execution, which
    /// the page's Content-Security-Policy does not govern.
    pub async fn axe_violations(&self) -> Vec<Violation> {
        let Ok(tools) = tools() else {
            unreachable!("a browser is only opened with the tools")
        };
        // A page that was still being replaced (a form's answer arriving
        // after the text waited for was already shown) loses the injected
        // axe, or the run, with its document: wait for the new document and
        // run again, a few times at most.
        let mut outcome = Value::Null;
        for attempt in 1..=4 {
            // Errors here (a document going away) show in the run below.
            let injected = self
                .client
                .execute("return typeof window.axe === 'object';", vec![])
                .await;
            if !matches!(injected, Ok(Value::Bool(true))) {
                let _ = self.client.execute(&tools.axe, vec![]).await;
            }
            let ran = self
                .client
                .execute_async(
                    "const done = arguments[arguments.length - 1]; \
                     if (typeof window.axe !== 'object') { done({ gone: true }); } else \
                     window.axe.run(document, { resultTypes: ['violations'] }) \
                       .then((r) => done({ violations: r.violations }), \
                             (e) => done({ error: String(e) }));",
                    vec![],
                )
                .await;
            match ran {
                Ok(found) if found.get("gone").is_none() => {
                    outcome = found;
                    break;
                }
                Ok(_) | Err(_) if attempt < 4 => self.wait_for_document().await,
                Ok(_) => panic!("axe-core did not run: the page kept changing"),
                Err(e) => panic!("axe-core did not run: {e}"),
            }
        }
        if let Some(error) = outcome.get("error") {
            panic!("axe-core failed: {error}");
        }
        outcome["violations"]
            .as_array()
            .expect("axe's violations")
            .iter()
            .map(|v| Violation {
                id: v["id"].as_str().unwrap_or_default().to_owned(),
                impact: v["impact"].as_str().unwrap_or("unknown").to_owned(),
                help: v["help"].as_str().unwrap_or_default().to_owned(),
                help_url: v["helpUrl"].as_str().unwrap_or_default().to_owned(),
                targets: v["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|node| {
                        node["target"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_owned))
                            .collect::<Vec<_>>()
                            .join(" >>> ")
                    })
                    .collect(),
            })
            .collect()
    }

    /// Fails listing every serious or critical axe-core violation of the
    /// page (minor and moderate ones are left to review).
    pub async fn axe(&self) {
        let serious: Vec<String> = self
            .axe_violations()
            .await
            .into_iter()
            .filter(|v| matches!(v.impact.as_str(), "serious" | "critical"))
            .map(|v| format!("  - {v}"))
            .collect();
        if !serious.is_empty() {
            self.fail(&format!(
                "axe-core found {} serious or critical violation(s):\n{}",
                serious.len(),
                serious.join("\n")
            ))
            .await;
        }
    }

    /// The checks every page passes: axe-core on the desktop window, then
    /// on a [`PHONE`], where the page must also fit without scrolling
    /// sideways. The browser is back on the desktop window after.
    pub async fn check_page(&self) {
        self.axe().await;
        self.set_viewport(PHONE.0, PHONE.1).await;
        self.assert_no_horizontal_overflow().await;
        self.axe().await;
        self.desktop().await;
    }

    /// Signs in through the sign-in page and waits until the page has
    /// moved on.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.goto("/sign-in").await;
        self.fill("Email", email).await;
        self.fill("Password", password).await;
        self.click("Sign in").await;
        let left = self
            .wait_until(|| async {
                self.client
                    .current_url()
                    .await
                    .is_ok_and(|url| url.path() != "/sign-in")
            })
            .await;
        if !left {
            self.fail(&format!("{email} could not sign in")).await;
        }
    }
}

/// `text` as an XPath 1.0 string literal (which has no escapes).
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// Says, on the test's own line of stderr (the harness captures
/// `eprintln!` of passing tests, and a skip must be seen), that this test
/// did not run and why.
fn skipped(why: &str) {
    use std::io::Write as _;
    let test = std::thread::current()
        .name()
        .unwrap_or("a browser test")
        .to_owned();
    let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
}
