//! The inbox in a real headless Chromium (Debian's `chromium` and `chromedriver`, as
//! `.ci/deps` installs them): an employee submits a reimbursement with two expense lines,
//! the manager approves from the inbox, service management approves, finance claims and
//! completes, the employee sees it approved; a bad form shows its errors beside the
//! fields. Screenshots of the inbox and the task page go to `tests/output/`.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use signoff_tests::{claim, eventually, repo_root, storage_test, Web};

const WAIT: Duration = Duration::from_secs(20);

struct Browser {
    client: Client,
    driver: Child,
}

impl Drop for Browser {
    /// Ends chromedriver and every Chromium process it started: they share its process
    /// group. Killing chromedriver alone left each test's Chromium running (hundreds of
    /// processes after a few runs, slowing everything after them).
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn browser(name: &str) -> Browser {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let chromedriver =
        std::env::var("SIGNOFF_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let driver = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {chromedriver} (bash .ci/deps installs it): {e}"));
    eventually("chromedriver to listen", WAIT, || async move {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|_| ())
    })
    .await;
    let profile = signoff_tests::scratch_dir(&format!("chrome-{name}"));
    let chromium = std::env::var("SIGNOFF_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--no-first-run", "--window-size=1280,900", "--lang=zh-CN",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("an object literal")
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    Browser { client, driver }
}

async fn find(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(element) => element,
        Err(e) => {
            let url = c.current_url().await.ok();
            let page = c.source().await.unwrap_or_default();
            panic!("no `{css}` on {url:?}: {e}\n{page}")
        }
    }
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let input = find(c, css).await;
    input.clear().await.expect("clear");
    input.send_keys(text).await.expect("type");
}

/// Sets an input's value the way a date picker would.
async fn set_value(c: &Client, name: &str, value: &str) {
    c.execute(
        "document.getElementsByName(arguments[0])[0].value = arguments[1];",
        vec![json!(name), json!(value)],
    )
    .await
    .expect("set a value");
}

async fn sign_in(web: &Web, c: &Client, user: &str) {
    c.delete_all_cookies().await.expect("sign out");
    c.goto(&web.url("/login")).await.expect("login page");
    type_into(c, "#user", user).await;
    type_into(c, "#password", "signoff").await;
    click(c, "button[type=submit]").await;
    find(c, "#task-count").await;
}

/// Clicks what loads a new page (a link, a form's button) and waits until that page
/// has loaded: the old page is marked first, so nothing after the click can read or type
/// into the page that is going away.
async fn click(c: &Client, css: &str) {
    let element = find(c, css).await;
    c.execute("window.signoffLeaving = true;", vec![])
        .await
        .expect("mark the page");
    element
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
    eventually(&format!("the page after clicking {css}"), WAIT, || async {
        let loaded = c
            .execute(
                "return window.signoffLeaving !== true && document.readyState === 'complete';",
                vec![],
            )
            .await
            .ok()?;
        (loaded == json!(true)).then_some(())
    })
    .await;
}

/// Clicks what the page's script handles in place (adding or removing a line).
async fn click_in_page(c: &Client, css: &str) {
    find(c, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Replaces the definition editor's text, as pasting it would.
async fn set_editor_text(c: &Client, text: &str) {
    find(c, "#editor .cm-content").await;
    c.execute(
        "const v = window.signoffEditor; v.dispatch({changes: {from: 0, to: v.state.doc.length, insert: arguments[0]}}); v.focus();",
        vec![json!(text)],
    )
    .await
    .expect("set the editor's text");
}

/// Puts the editor's cursor just after the first `needle`, scrolled into view, and types
/// `keys` there.
async fn type_in_editor(c: &Client, needle: &str, keys: &str) {
    c.execute(
        "const v = window.signoffEditor; const at = v.state.doc.toString().indexOf(arguments[0]) + arguments[0].length; v.focus(); v.dispatch({selection: {anchor: at}, scrollIntoView: true});",
        vec![json!(needle)],
    )
    .await
    .expect("place the cursor");
    press(c, keys).await;
}

/// Presses `keys` one after the other where the focus is.
async fn press(c: &Client, keys: &str) {
    let mut typing = KeyActions::new("keyboard".into());
    for key in keys.chars() {
        typing = typing
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
    }
    c.perform_actions(typing).await.expect("type");
}

/// Waits until the editor's completion list offers `option`.
async fn completion_offers(c: &Client, option: &str) {
    eventually(&format!("completion to offer `{option}`"), WAIT, || async {
        let options = find(c, ".cm-tooltip-autocomplete")
            .await
            .text()
            .await
            .ok()?;
        options.contains(option).then_some(())
    })
    .await;
}

/// Chooses the completion list's selected option with Return, after the moment a person
/// takes to read the list (CodeMirror ignores a Return within 75 ms of the list opening,
/// so that typing fast does not pick an option by accident).
async fn choose_completion(c: &Client) {
    let choose = KeyActions::new("keyboard".into())
        .then(KeyAction::Pause {
            duration: Duration::from_millis(150),
        })
        .then(KeyAction::Down { value: '\u{e006}' })
        .then(KeyAction::Up { value: '\u{e006}' });
    c.perform_actions(choose).await.expect("choose");
}

/// The editor's status line once it says something containing `part`.
async fn editor_status(c: &Client, part: &str) -> String {
    eventually(
        &format!("the editor's status to say `{part}`"),
        WAIT,
        || async {
            let text = find(c, "#editor-status").await.text().await.ok()?;
            text.contains(part).then_some(text)
        },
    )
    .await
}

async fn screenshot(c: &Client, name: &str) {
    let dir = repo_root().join("tests/output");
    std::fs::create_dir_all(&dir).expect("output dir");
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(name), png).expect("save screenshot");
}

/// Opens the first task in the inbox and presses `action`.
async fn act_from_inbox(web: &Web, c: &Client, user: &str, action: &str) {
    sign_in(web, c, user).await;
    click(c, "#tasks a[href^='/tasks/']").await;
    click(c, &format!("button[name=action][value={action}]")).await;
    let notice = find(c, ".notice").await.text().await.unwrap_or_default();
    assert!(notice.contains('#'), "{user} {action}: {notice}");
}

storage_test! {
    async fn an_employee_submits_the_manager_approves_finance_pays_and_the_employee_sees_it(db) {
        let web = Web::start(&db, "browser-run").await;
        let b = browser("run").await;
        let c = &b.client;

        sign_in(&web, c, "li.na").await;
        c.goto(&web.url("/requests/new/reimbursement"))
            .await
            .unwrap();
        find(c, "select[name=region]")
            .await
            .select_by_value("east")
            .await
            .unwrap();
        type_into(
            c,
            "input[name=purpose]",
            "客户现场实施 <script>alert(1)</script>",
        )
        .await;
        set_value(c, "start_date", "2026-09-20").await;
        set_value(c, "end_date", "2026-09-22").await;
        find(c, "select[name='lines[0].category']")
            .await
            .select_by_value("transport")
            .await
            .unwrap();
        set_value(c, "lines[0].date", "2026-09-20").await;
        type_into(c, "input[name='lines[0].amount']", "560").await;
        type_into(c, "input[name=receipts]", "2").await;
        // A second line: the page comes back with one more row and the first kept.
        click_in_page(c, "button[name=_add_line]").await;
        find(c, "select[name='lines[1].category']")
            .await
            .select_by_value("lodging")
            .await
            .unwrap();
        set_value(c, "lines[1].date", "2026-09-20").await;
        type_into(c, "input[name='lines[1].amount']", "480").await;
        let kept = find(c, "input[name='lines[0].amount']")
            .await
            .prop("value")
            .await
            .unwrap();
        assert_eq!(kept.as_deref(), Some("560"));
        click(c, "#submit").await;
        let status = find(c, "#request-status").await.text().await.unwrap();
        assert_eq!(status, "进行中", "the state in the reader's words");
        let page = c.source().await.unwrap();
        assert!(page.contains("1,040.00 CNY"), "the total of both lines");

        // The manager's inbox: the task with its summary; the task page; approve.
        sign_in(&web, c, "liu.qiang").await;
        let row = find(c, "#tasks tr[data-task]").await.text().await.unwrap();
        assert!(
            row.contains("李娜") && row.contains("直属上级审批"),
            "{row}"
        );
        screenshot(c, "inbox.png").await;
        click(c, "#tasks a[href^='/tasks/']").await;
        find(c, "#act-form").await;
        let current = find(c, "#diagram .node.current")
            .await
            .attr("data-step")
            .await
            .unwrap();
        assert_eq!(current.as_deref(), Some("manager_review"));
        screenshot(c, "task.png").await;
        type_into(c, "#comment", "同意").await;
        click(c, "button[name=action][value=approve]").await;
        find(c, ".notice").await;

        act_from_inbox(&web, c, "song.yi", "approve").await;
        act_from_inbox(&web, c, "feng.yu", "claim").await;
        act_from_inbox(&web, c, "feng.yu", "complete").await;

        sign_in(&web, c, "li.na").await;
        c.goto(&web.url("/requests")).await.unwrap();
        let row = find(c, "#requests tr[data-request]")
            .await
            .text()
            .await
            .unwrap();
        assert!(row.contains("已批准"), "{row}");
        click(c, "#requests a").await;
        let history = find(c, "#history").await.text().await.unwrap();
        for who in ["刘强", "宋怡", "冯雨"] {
            assert!(history.contains(who), "{who} in the history: {history}");
        }
        assert!(history.contains("同意"));
        for raw in ["submit", "assign", "approve", "running", "approved"] {
            assert!(
                !history.contains(raw),
                "no raw `{raw}` on a Chinese page: {history}"
            );
        }
    }
}

storage_test! {
    async fn the_manager_approves_two_ticked_tasks_at_once_with_one_comment(db) {
        let web = Web::start(&db, "browser-batch").await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            let view = web.h.engine.start("reimbursement", "li.na", claim(&[300.0])).await.unwrap();
            ids.push(view.id);
        }
        let b = browser("batch").await;
        let c = &b.client;
        sign_in(&web, c, "liu.qiang").await;
        let count = find(c, "#task-count").await.text().await.unwrap();
        assert_eq!(count, "3");
        let boxes = c
            .find_all(Locator::Css("#tasks input[type=checkbox][name=task]"))
            .await
            .unwrap();
        assert_eq!(boxes.len(), 3, "each approvable task has a box");
        for b in &boxes[..2] {
            b.click().await.unwrap();
        }
        type_into(c, "#batch input[name=comment]", "同意，批量处理").await;
        click(c, "#batch-approve").await;
        let results = find(c, "#batch-results").await.text().await.unwrap();
        assert!(results.contains("已同意 2 / 2"), "{results}");
        screenshot(c, "inbox-batch.png").await;
        let left = find(c, "#task-count").await.text().await.unwrap();
        assert_eq!(left, "1", "one task left");
        let mut approved = 0;
        for id in ids {
            let view = web.h.engine.instance(id).await.unwrap();
            let mine: Vec<_> = view
                .history
                .iter()
                .filter(|e| e.actor == "liu.qiang")
                .collect();
            if let Some(e) = mine.first() {
                assert_eq!(mine.len(), 1, "one entry each");
                assert_eq!(e.comment.as_deref(), Some("同意，批量处理"));
                assert_eq!(view.current_steps, vec!["service_review"]);
                approved += 1;
            }
        }
        assert_eq!(approved, 2);
    }
}

storage_test! {
    async fn a_bad_form_shows_its_errors_beside_the_fields_and_keeps_what_was_typed(db) {
        let web = Web::start(&db, "browser-form").await;
        let b = browser("form").await;
        let c = &b.client;
        sign_in(&web, c, "li.na").await;
        c.goto(&web.url("/requests/new/reimbursement"))
            .await
            .unwrap();
        find(c, "select[name=region]")
            .await
            .select_by_value("east")
            .await
            .unwrap();
        set_value(c, "start_date", "2026-09-22").await;
        set_value(c, "end_date", "2026-09-20").await;
        find(c, "select[name='lines[0].category']")
            .await
            .select_by_value("transport")
            .await
            .unwrap();
        type_into(c, "input[name='lines[0].amount']", "abc").await;
        click(c, "#submit").await;
        let end_error = find(c, ".field-error[data-field=end_date]").await.text().await.unwrap();
        assert!(end_error.contains("结束日期"), "the rule, in the same round: {end_error}");
        find(c, "#form-message").await;
        let amount_error = find(c, ".field-error[data-field='lines[0].amount']")
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(amount_error, "应为数字", "in the reader's language");
        let kept = find(c, "input[name='lines[0].amount']")
            .await
            .prop("value")
            .await
            .unwrap();
        assert_eq!(kept.as_deref(), Some("abc"));
        let region = find(c, "select[name=region]")
            .await
            .prop("value")
            .await
            .unwrap();
        assert_eq!(region.as_deref(), Some("east"));
        // One round: the typing error, the missing fields and the date rule together.
        for field in ["purpose", "receipts"] {
            find(c, &format!(".field-error[data-field={field}]")).await;
        }
        screenshot(c, "form-errors.png").await;
        eventually("no request started", WAIT, || async {
            web.h
                .engine
                .requests(&Default::default())
                .await
                .ok()
                .filter(Vec::is_empty)
                .map(|_| ())
        })
        .await;
    }
}

/// How wide the page is against the window, in CSS pixels.
async fn overflow(c: &Client) -> (i64, i64) {
    let sizes = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .expect("page sizes");
    (
        sizes[0].as_i64().unwrap_or(0),
        sizes[1].as_i64().unwrap_or(0),
    )
}

storage_test! {
    async fn every_page_fits_a_phone_screen(db) {
        let web = Web::start(&db, "browser-phone").await;
        let engine = &web.h.engine;
        let claim = engine
            .start("reimbursement", "li.na", claim(&[120.0, 560.0, 1_234.5]))
            .await
            .unwrap();
        let task = claim.tasks[0].id.0;
        let b = browser("phone").await;
        let c = &b.client;
        c.set_window_size(390, 844)
            .await
            .expect("a phone-sized window");
        let pages = [
            ("li.na", "/inbox".to_string()),
            ("li.na", "/requests".to_string()),
            ("li.na", "/requests/new".to_string()),
            ("li.na", "/requests/new/reimbursement".to_string()),
            ("li.na", format!("/requests/{}", claim.id.0)),
            ("li.na", "/settings".to_string()),
            ("liu.qiang", "/inbox".to_string()),
            ("liu.qiang", format!("/tasks/{task}")),
            ("liu.qiang", "/done".to_string()),
            ("tang.jie", format!("/requests/{}", claim.id.0)),
            ("tang.jie", "/processes".to_string()),
            ("tang.jie", "/processes/reimbursement".to_string()),
            ("tang.jie", "/processes/reimbursement/report".to_string()),
            ("tang.jie", "/processes/reimbursement/try".to_string()),
            ("tang.jie", format!("/requests/{}/print", claim.id.0)),
            ("tang.jie", "/incidents".to_string()),
        ];
        let mut signed_in = "";
        let mut wide = Vec::new();
        for (user, path) in &pages {
            if *user != signed_in {
                sign_in(&web, c, user).await;
                signed_in = user;
            }
            c.goto(&web.url(path)).await.expect("the page");
            find(c, "main").await;
            let (width, window) = overflow(c).await;
            if width > window {
                wide.push(format!(
                    "{path} as {user}: {width} px in a {window} px window"
                ));
            }
            if path.starts_with("/tasks/") {
                screenshot(c, "task-phone.png").await;
            }
        }
        assert!(wide.is_empty(), "pages wider than the phone: {wide:#?}");
    }
}

/// Presses `action` on the task form with `to` chosen, and reads the notice.
async fn act_with(c: &Client, action: &str, to: Option<&str>, comment: &str) -> String {
    if let Some(to) = to {
        find(c, "#act-form select[name=to]")
            .await
            .select_by_value(to)
            .await
            .unwrap_or_else(|e| panic!("choose {to}: {e}"));
    }
    type_into(c, "#act-form #comment", comment).await;
    click(c, &format!("#act-form button[name=action][value={action}]")).await;
    find(c, ".notice").await.text().await.unwrap_or_default()
}

storage_test! {
    async fn an_opinion_a_copy_a_take_back_and_an_owners_jump_and_termination_in_the_browser(db) {
        let web = Web::start(&db, "browser-more").await;
        let id = web.h.engine.start("reimbursement", "li.na", claim(&[300.0])).await.unwrap().id.0;
        let b = browser("more").await;
        let c = &b.client;

        // The manager asks finance's opinion; finance can only reply; it comes back.
        sign_in(&web, c, "liu.qiang").await;
        click(c, "#tasks a[href^='/tasks/']").await;
        let notice = act_with(c, "consult", Some("feng.yu"), "请看一下票据").await;
        assert!(notice.contains("征求意见"), "{notice}");
        sign_in(&web, c, "feng.yu").await;
        click(c, "#tasks a[href^='/tasks/']").await;
        let buttons = c.find_all(Locator::Css("#act-form button[name=action]")).await.unwrap();
        let mut offered = Vec::new();
        for button in buttons {
            offered.push(button.attr("value").await.unwrap().unwrap_or_default());
        }
        assert_eq!(offered, ["reply", "comment"], "the one asked only answers");
        let notice = act_with(c, "reply", None, "票据齐全").await;
        assert!(notice.contains("回复意见"), "{notice}");

        // Back with the manager: he copies the director, approves, then takes it back.
        sign_in(&web, c, "liu.qiang").await;
        click(c, "#tasks a[href^='/tasks/']").await;
        act_with(c, "copy_to", Some("wang.fang"), "").await;
        act_with(c, "approve", None, "同意").await;
        c.goto(&web.url(&format!("/requests/{id}"))).await.unwrap();
        type_into(c, "#take-back-comment", "金额再核对").await;
        click(c, "#take-back-form button").await;
        let notice = find(c, ".notice").await.text().await.unwrap();
        assert!(notice.contains("拿回"), "{notice}");
        let current = find(c, "#diagram .node.current").await.attr("data-step").await.unwrap();
        assert_eq!(current.as_deref(), Some("manager_review"));
        let history = find(c, "#history").await.text().await.unwrap();
        for words in ["征求意见", "回复意见", "票据齐全", "抄送", "王芳", "拿回", "金额再核对"] {
            assert!(history.contains(words), "`{words}` in the history: {history}");
        }
        screenshot(c, "request-actions.png").await;

        // The process owner moves it to finance, then terminates it with a reason.
        sign_in(&web, c, "tang.jie").await;
        c.goto(&web.url(&format!("/requests/{id}"))).await.unwrap();
        find(c, "#jump-to").await.select_by_value("finance_payment").await.unwrap();
        type_into(c, "#jump-reason", "经理休假，特批").await;
        click(c, "#jump-form button").await;
        find(c, ".notice").await;
        let current = find(c, "#diagram .node.current").await.attr("data-step").await.unwrap();
        assert_eq!(current.as_deref(), Some("finance_payment"));
        type_into(c, "#terminate-reason", "重复提交").await;
        click(c, "#terminate-form button").await;
        find(c, ".notice").await;
        let status = find(c, "#request-status").await.text().await.unwrap();
        assert_eq!(status, "已终止");
        let history = find(c, "#history").await.text().await.unwrap();
        assert!(history.contains("跳转到") && history.contains("重复提交"), "{history}");
        screenshot(c, "request-terminated.png").await;
    }
}

storage_test! {
    async fn lines_are_added_and_removed_and_the_total_follows_the_typing(db) {
        let web = Web::start(&db, "browser-lines").await;
        let b = browser("lines").await;
        let c = &b.client;
        sign_in(&web, c, "li.na").await;
        c.goto(&web.url("/requests/new/reimbursement")).await.unwrap();
        let lines = || async {
            c.execute("return document.querySelectorAll('#lines tr[data-row]').length;", vec![])
                .await
                .unwrap()
                .as_i64()
                .unwrap()
        };
        assert_eq!(lines().await, 1);
        // The script adds a line in the page: no round trip (a marker set now survives).
        c.execute("window.stillHere = true;", vec![]).await.unwrap();
        click_in_page(c, "button[name=_add_line]").await;
        click_in_page(c, "button[name=_add_line]").await;
        assert_eq!(lines().await, 3);
        type_into(c, "input[name='lines[0].amount']", "560").await;
        type_into(c, "input[name='lines[1].amount']", "480").await;
        type_into(c, "input[name='lines[2].amount']", "1,000.5").await;
        let total = find(c, "#live-total").await.text().await.unwrap();
        assert_eq!(total, "2,040.50", "the total as one types");
        // Remove the first line: the others move up and keep their numbers in order.
        click_in_page(c, "#lines tr[data-row] button[name=_remove_line]").await;
        assert_eq!(lines().await, 2);
        let first = find(c, "input[name='lines[0].amount']").await.prop("value").await.unwrap();
        assert_eq!(first.as_deref(), Some("480"));
        let total = find(c, "#live-total").await.text().await.unwrap();
        assert_eq!(total, "1,480.50");
        let kept = c.execute("return window.stillHere === true;", vec![]).await.unwrap();
        assert_eq!(kept, serde_json::json!(true), "no page load");
        screenshot(c, "form-lines.png").await;
    }
}

storage_test! {
    async fn the_lists_search_sort_done_and_copied_in_the_browser(db) {
        let web = Web::start(&db, "browser-lists").await;
        let engine = &web.h.engine;
        let mut ids = Vec::new();
        for (purpose, amount) in [("北京客户巡检", 300.0), ("上海客户培训", 120.0), ("广州客户实施", 900.0)] {
            let mut form = claim(&[amount]);
            form["purpose"] = json!(purpose);
            form["lines"][0]["justification"] = json!("客户现场紧急，须当天往返两地");
            ids.push(engine.start("reimbursement", "li.na", form).await.unwrap().id.0);
        }
        let b = browser("lists").await;
        let c = &b.client;
        sign_in(&web, c, "liu.qiang").await;
        assert_eq!(find(c, "#nav-open").await.text().await.unwrap(), "3", "the header counts");
        // Search: the text typed finds the one request.
        type_into(c, "#search input[name=q]", "上海").await;
        click(c, "#search button[type=submit]").await;
        let rows = c.find_all(Locator::Css("#tasks tr[data-task]")).await.unwrap();
        assert_eq!(rows.len(), 1, "one request mentions 上海");
        assert!(rows[0].text().await.unwrap().contains("上海客户培训"));
        // Sort by amount: the largest first.
        type_into(c, "#search input[name=q]", "").await;
        find(c, "#search select[name=sort]").await.select_by_value("amount").await.unwrap();
        click(c, "#search button[type=submit]").await;
        let first = find(c, "#tasks tr[data-task]").await.text().await.unwrap();
        assert!(first.contains("900.00"), "{first}");
        screenshot(c, "inbox-sorted.png").await;

        // Approve the largest and copy the director on another; "done by me" lists it.
        click(c, "#tasks tr[data-task] a[href^='/tasks/']").await;
        act_with(c, "approve", None, "同意").await;
        c.goto(&web.url(&format!("/requests/{}", ids[0]))).await.unwrap();
        let task = engine.instance(signoff_engine::runtime::InstanceId(ids[0])).await.unwrap().tasks[0].id.0;
        c.goto(&web.url(&format!("/tasks/{task}"))).await.unwrap();
        act_with(c, "copy_to", Some("wang.fang"), "").await;
        c.goto(&web.url("/done")).await.unwrap();
        let done = find(c, "#done").await.text().await.unwrap();
        assert!(done.contains(&format!("#{}", ids[2])), "{done}");
        assert_eq!(find(c, "#done-count").await.text().await.unwrap(), "1");

        // The director sees the copy unread, opens it, and it is read.
        sign_in(&web, c, "wang.fang").await;
        assert_eq!(find(c, "#nav-unread").await.text().await.unwrap(), "抄送 1");
        let row = format!("#cc tr[data-request='{}']", ids[0]);
        assert_eq!(find(c, &row).await.attr("data-read").await.unwrap().as_deref(), Some("no"));
        click(c, &format!("{row} a")).await;
        find(c, "#history").await;
        c.goto(&web.url("/inbox")).await.unwrap();
        assert_eq!(find(c, &row).await.attr("data-read").await.unwrap().as_deref(), Some("yes"));
    }
}

storage_test! {
    async fn the_diagram_marks_the_path_and_the_owner_sees_an_edit_drawn_beside_the_published(db) {
        let web = Web::start(&db, "browser-diagram").await;
        let id = web.h.engine.start("reimbursement", "li.na", claim(&[300.0])).await.unwrap().id;
        web.h.act(id, "liu.qiang", signoff_engine::runtime::ActionRequest::new(signoff_engine::runtime::ActionKind::Approve)).await;
        let b = browser("diagram").await;
        let c = &b.client;
        sign_in(&web, c, "li.na").await;
        c.goto(&web.url(&format!("/requests/{}", id.0))).await.unwrap();
        let step = |css: &'static str| async move {
            find(c, css).await.attr("data-step").await.unwrap().unwrap_or_default()
        };
        assert_eq!(step("#diagram svg .node.current").await, "service_review");
        assert_eq!(step("#diagram svg .node.passed").await, "manager_review");
        let holders = find(c, "#diagram svg .node.current .holders").await.text().await.unwrap();
        assert!(holders.contains("宋怡") || holders.contains("唐杰"), "{holders}");
        assert!(!c.find_all(Locator::Css("#diagram svg .edge.taken")).await.unwrap().is_empty());
        let text = find(c, "#diagram svg").await.text().await.unwrap();
        assert!(text.contains("超过5000元") && !text.contains("form.total"), "words, not CEL: {text}");
        screenshot(c, "request-diagram.png").await;

        // The owner edits a step's name: the check draws the edit above the published one.
        sign_in(&web, c, "tang.jie").await;
        c.goto(&web.url("/processes/reimbursement")).await.unwrap();
        find(c, "#published-diagram svg").await;
        let source = find(c, "#check-form textarea").await.prop("value").await.unwrap().unwrap_or_default();
        let edited = source.replacen("zh: 直属上级审批", "zh: 部门负责人初审", 1);
        assert_ne!(edited, source);
        set_editor_text(c, &edited).await;
        click(c, "#check-form button.secondary").await;
        let drawn = find(c, "#edited-diagram svg").await.text().await.unwrap();
        assert!(drawn.contains("部门负责人初审"), "{drawn}");
        let published = find(c, "#published-diagram svg").await.text().await.unwrap();
        assert!(published.contains("直属上级审批"));
        screenshot(c, "owner-diagram.png").await;

        // The report: its chart, and a table as CSV.
        click(c, "#report-link").await;
        find(c, "#report-months svg.chart").await;
        let backlog = find(c, "#report-backlog").await.text().await.unwrap();
        assert!(backlog.contains("服务管理部审核"), "{backlog}");
        // The page's own policy forbids scripts to fetch, so the link is read with the
        // browser's session cookie.
        let href = find(c, "#report-months a").await.attr("href").await.unwrap().unwrap_or_default();
        let cookies: Vec<String> = c
            .get_all_cookies()
            .await
            .unwrap()
            .iter()
            .map(|k| format!("{}={}", k.name(), k.value()))
            .collect();
        let csv = reqwest::Client::new()
            .get(web.url(&href.replace("&amp;", "&")))
            .header("cookie", cookies.join("; "))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(csv.contains("2026-09,1,0"), "{csv}");
        screenshot(c, "report.png").await;
    }
}

storage_test! {
    async fn the_editor_completes_from_the_schema_and_the_form_and_marks_the_checkers_problems_as_one_types(db) {
        let web = Web::start(&db, "browser-editor").await;
        let b = browser("editor").await;
        let c = &b.client;
        sign_in(&web, c, "tang.jie").await;
        c.goto(&web.url("/processes/reimbursement")).await.unwrap();
        assert!(!find(c, "#check-form textarea").await.is_displayed().await.unwrap(), "the editor replaces the textarea");
        editor_status(c, "没有问题").await;

        // A misspelt form field: the checker's message is marked at the word.
        let source = find(c, "#check-form textarea").await.prop("value").await.unwrap().unwrap_or_default();
        set_editor_text(c, &source.replacen("when: form.total > vars.director_tier", "when: form.totl > vars.director_tier", 1)).await;
        let status = editor_status(c, "1 个错误").await;
        assert!(status.contains("0 个警告"), "{status}");
        type_in_editor(c, "when: form.totl", "").await;
        let marked = find(c, ".cm-lintRange-error").await.text().await.unwrap();
        assert_eq!(marked, "totl");
        assert!(!c.find_all(Locator::Css(".cm-lint-marker-error")).await.unwrap().is_empty(), "a mark in the margin");

        // Completion of the form's fields after `form.` in a CEL value ...
        set_editor_text(c, &source).await;
        editor_status(c, "没有问题").await;
        type_in_editor(c, "when: form.", "pur").await;
        completion_offers(c, "purpose").await;
        choose_completion(c).await;
        let text = find(c, "#check-form textarea").await.prop("value").await.unwrap().unwrap_or_default();
        let line = text.lines().find(|l| l.contains("when: form.")).unwrap_or_default().to_string();
        assert!(line.contains("when: form.purposetotal > vars.director_tier"), "the choice is inserted and kept for posting: {line}");
        screenshot(c, "editor-completion.png").await;

        // ... and of the schema's keys, with their help.
        set_editor_text(c, &format!("{source}\nsubm")).await;
        type_in_editor(c, "\nsubm", "i").await;
        completion_offers(c, "submitter_may_decide").await;

        // Posting works as without the editor: check shows the edit's diff.
        set_editor_text(c, &source.replacen("zh: 直属上级审批", "zh: 部门负责人初审", 1)).await;
        click(c, "#check-form button.secondary").await;
        let diff = find(c, "#diff").await.text().await.unwrap();
        assert!(diff.contains("部门负责人初审"), "{diff}");
    }
}

storage_test! {
    async fn out_of_office_is_set_on_the_settings_page_and_the_submitter_urges_from_the_request(db) {
        let web = Web::start(&db, "browser-away").await;
        let b = browser("away").await;
        let c = &b.client;
        sign_in(&web, c, "liu.qiang").await;
        c.goto(&web.url("/settings")).await.unwrap();
        find(c, "#deputy").await.select_by_value("zhao.min").await.unwrap();
        set_value(c, "from", "2026-09-28").await;
        set_value(c, "to", "2026-10-09").await;
        click(c, "#absence-form button").await;
        let listed = find(c, "#absences").await.text().await.unwrap();
        assert!(listed.contains("2026-09-28 – 2026-10-09") && listed.contains("赵敏"), "{listed}");

        // A claim now goes to the deputy as well; the submitter urges from its page.
        let id = web.h.engine.start("reimbursement", "li.na", claim(&[100.0])).await.unwrap().id;
        let view = web.h.engine.instance(id).await.unwrap();
        assert_eq!(view.tasks[0].delegate.as_deref(), Some("zhao.min"));
        sign_in(&web, c, "li.na").await;
        c.goto(&web.url(&format!("/requests/{}", id.0))).await.unwrap();
        click(c, "#urge-form button").await;
        let notice = find(c, ".notice").await.text().await.unwrap();
        assert!(notice.contains("催办"), "{notice}");

        // Back in the office: the list is empty again.
        sign_in(&web, c, "liu.qiang").await;
        c.goto(&web.url("/settings")).await.unwrap();
        click(c, "#end-absence-form button").await;
        find(c, "#absence-form").await;
        assert!(c.find_all(Locator::Css("#absences")).await.unwrap().is_empty());
    }
}

storage_test! {
    async fn a_receipt_is_attached_in_the_browser_and_shown_to_the_manager_only(db) {
        let web = Web::start(&db, "browser-files").await;
        let b = browser("files").await;
        let c = &b.client;
        // A real 1×1 PNG on disk, chosen in the file input as a person would.
        let dir = signoff_tests::scratch_dir("browser-files-upload");
        let receipt = dir.join("出租车票.png");
        std::fs::write(&receipt, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82").unwrap();

        sign_in(&web, c, "li.na").await;
        c.goto(&web.url("/requests/new/reimbursement")).await.unwrap();
        let help = find(c, "[data-name=receipt_scans] .muted").await.text().await.unwrap();
        assert!(help.contains("5 MB") && help.contains("PDF"), "the limits are told: {help}");
        find(c, "select[name=region]").await.select_by_value("east").await.unwrap();
        type_into(c, "input[name=purpose]", "客户现场实施").await;
        set_value(c, "start_date", "2026-09-20").await;
        set_value(c, "end_date", "2026-09-22").await;
        find(c, "select[name='lines[0].category']").await.select_by_value("transport").await.unwrap();
        set_value(c, "lines[0].date", "2026-09-20").await;
        type_into(c, "input[name='lines[0].amount']", "86").await;
        type_into(c, "input[name=receipts]", "1").await;
        find(c, "input[type=file][name=receipt_scans]")
            .await
            .send_keys(&receipt.display().to_string())
            .await
            .expect("choose the file");
        click(c, "#submit").await;
        find(c, "#request-status").await;
        let link = find(c, "a.attachment").await;
        assert_eq!(link.text().await.unwrap(), "出租车票.png");
        let url = link.attr("href").await.unwrap().expect("a link");

        // The manager's task page shows the receipt itself.
        sign_in(&web, c, "liu.qiang").await;
        click(c, "#tasks a[href^='/tasks/']").await;
        let image = find(c, "img.attachment-image").await;
        let shown = eventually("the receipt image to load", WAIT, || async {
            let width = c
                .execute("return arguments[0].complete ? arguments[0].naturalWidth : -1;", vec![serde_json::to_value(&image).unwrap()])
                .await
                .ok()?;
            (width != json!(-1)).then_some(width)
        })
        .await;
        assert_eq!(shown, json!(1), "the image loads for the manager");
        screenshot(c, "task-attachment.png").await;

        // Someone with no part in the request gets nothing.
        sign_in(&web, c, "ma.chao").await;
        c.goto(&web.url(&url)).await.unwrap();
        let page = c.source().await.unwrap();
        assert!(!page.contains("IHDR") && page.contains("404"), "{page}");
    }
}
