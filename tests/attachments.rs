//! Attachments end to end on both databases: receipts uploaded with a reimbursement's
//! form over HTTP, checked by their content (a renamed executable, a PDF named as an
//! image, a file over the definition's size are refused beside their field, and nothing
//! is stored), shown on the request page (images inline), downloaded only by those who
//! may see the request, and never set by a hand-written form value.

use reqwest::multipart::{Form, Part};
use serde_json::json;
use signoff_engine::runtime::content_id;
use signoff_tests::{claim, storage_test, Web};

/// A 1×1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0";

/// li.na's claim as the new-request page posts it, with `files` as (name, bytes).
fn claim_form(csrf: &str, files: &[(&str, Vec<u8>)]) -> Form {
    let mut form = Form::new()
        .text("csrf", csrf.to_string())
        .text("region", "east")
        .text("purpose", "客户现场实施")
        .text("start_date", "2026-09-20")
        .text("end_date", "2026-09-22")
        .text("lines[0].category", "transport")
        .text("lines[0].date", "2026-09-20")
        .text("lines[0].amount", "120")
        .text("lines[0].description", "高铁")
        .text("receipts", "2");
    for (name, bytes) in files {
        form = form.part(
            "receipt_scans",
            Part::bytes(bytes.clone()).file_name((*name).to_string()),
        );
    }
    form
}

async fn submit(web: &Web, client: &reqwest::Client, form: Form) -> reqwest::Response {
    client
        .post(web.url("/requests/new/reimbursement"))
        .multipart(form)
        .send()
        .await
        .expect("post the form")
}

storage_test! {
    async fn receipts_are_checked_by_content_stored_with_the_claim_and_served_to_who_may_see_it(db) {
        let web = Web::start(&db, "attachments").await;
        let engine = &web.h.engine;
        let (li, csrf) = web.sign_in("li.na").await;

        // Refused uploads: each named beside the field, and nothing stored.
        let too_large = [PNG, &vec![0u8; 5 * 1024 * 1024]].concat();
        for (files, words) in [
            (vec![("receipt.pdf", ELF.to_vec())], "类型不被接受"),
            (vec![("receipt.png", PDF.to_vec())], "与文件名不符"),
            (vec![("big.png", too_large)], "超过 5 MB"),
            (vec![("empty.png", Vec::new())], "是空的"),
        ] {
            let answer = submit(&web, &li, claim_form(&csrf, &files)).await;
            assert_eq!(answer.status(), 422, "{words}");
            let page = answer.text().await.unwrap();
            let error = page
                .split("data-field=\"receipt_scans\">")
                .nth(1)
                .unwrap_or_else(|| panic!("an error beside the field: {page}"));
            assert!(error.split("</span>").next().unwrap().contains(words), "{words}: {error}");
        }
        // A good file with a bad form is not kept either, and asked for again.
        let mut bad_form = claim_form(&csrf, &[("taxi.png", PNG.to_vec())]);
        bad_form = bad_form.text("lines[0].amount", "abc");
        let answer = submit(&web, &li, bad_form).await;
        assert_eq!(answer.status(), 422);
        assert!(answer.text().await.unwrap().contains("请重新选择文件"));
        assert_eq!(engine.stored_file_count().await.unwrap(), 0, "nothing half stored");
        assert!(engine.requests(&signoff_engine::runtime::RequestQuery { submitter: Some("li.na".into()), ..Default::default() }).await.unwrap().is_empty());

        // Two receipts go in with the claim.
        let answer = submit(&web, &li, claim_form(&csrf, &[("taxi.png", PNG.to_vec()), ("hotel.pdf", PDF.to_vec())])).await;
        assert_eq!(answer.status(), 303, "{:?}", answer.text().await);
        let location = answer.headers()["location"].to_str().unwrap().to_string();
        let id: i64 = location
            .trim_start_matches("/requests/")
            .split(['?', '#'])
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(engine.stored_file_count().await.unwrap(), 2);
        let view = engine.instance(signoff_engine::runtime::InstanceId(id)).await.unwrap();
        let scans = view.form["receipt_scans"].as_array().unwrap().clone();
        assert_eq!(scans.len(), 2);
        assert_eq!(scans[0]["name"], "taxi.png");
        assert_eq!(scans[0]["type"], "image/png");
        assert_eq!(scans[1]["size"], PDF.len());
        let png_url = format!("/requests/{id}/files/{}", content_id(PNG));
        let pdf_url = format!("/requests/{id}/files/{}", content_id(PDF));

        // The manager sees them on the task page, the image inline, and downloads both.
        let (liu, _) = web.sign_in("liu.qiang").await;
        let task = web.h.task(signoff_engine::runtime::InstanceId(id), "liu.qiang").await;
        let page = liu.get(web.url(&format!("/tasks/{}", task.0))).send().await.unwrap().text().await.unwrap();
        let page = page.replace("&#x2f;", "/");
        assert!(page.contains(&format!("<img src=\"{png_url}\"")), "{page}");
        assert!(page.contains(&pdf_url) && page.contains("hotel.pdf"));
        let png = liu.get(web.url(&png_url)).send().await.unwrap();
        assert_eq!(png.status(), 200);
        assert_eq!(png.headers()["content-type"], "image/png");
        assert!(png.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
        assert_eq!(png.headers()["cache-control"], "no-store", "not kept for the next person at this computer");
        assert_eq!(png.bytes().await.unwrap().as_ref(), PNG);
        let pdf = liu.get(web.url(&pdf_url)).send().await.unwrap();
        assert_eq!(pdf.headers()["content-type"], "application/pdf");
        assert!(pdf.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
        assert!(pdf.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));

        // Nobody else: another employee, a file the request does not hold, no session.
        let (ma, _) = web.sign_in("ma.chao").await;
        assert_eq!(ma.get(web.url(&png_url)).send().await.unwrap().status(), 404);
        let elsewhere = format!("/requests/{id}/files/{}", content_id(b"something else"));
        assert_eq!(liu.get(web.url(&elsewhere)).send().await.unwrap().status(), 404);
        let anonymous = Web::browser_like_client().get(web.url(&png_url)).send().await.unwrap();
        assert_ne!(anonymous.status(), 200);

        // A form naming a stored file by hand does not get it: only uploads set files.
        let mut forged = claim(&[50.0]);
        forged["receipt_scans"] = json!([{"id": content_id(PNG), "name": "taxi.png", "type": "image/png", "size": PNG.len()}]);
        let other = engine.start("reimbursement", "ma.chao", forged).await;
        let other = other.expect("ma.chao's claim");
        assert_eq!(other.form["receipt_scans"], json!([]));
        let via_other = format!("/requests/{}/files/{}", other.id.0, content_id(PNG));
        assert_eq!(ma.get(web.url(&via_other)).send().await.unwrap().status(), 404);
    }
}

storage_test! {
    async fn a_chunked_body_over_the_limit_is_refused_and_an_unnamed_file_is_named_by_its_kind(db) {
        let web = Web::start(&db, "attachments-edges").await;
        let (li, csrf) = web.sign_in("li.na").await;
        // 26 MB in chunks of unknown length: refused as too large, not a server error.
        let chunks = futures::stream::iter((0..26).map(|_| Ok::<_, std::io::Error>(vec![0u8; 1024 * 1024])));
        let form = claim_form(&csrf, &[]).part(
            "receipt_scans",
            Part::stream(reqwest::Body::wrap_stream(chunks)).file_name("big.png"),
        );
        let answer = submit(&web, &li, form).await;
        assert_eq!(answer.status(), 413);

        // A file part whose name the sender could not give is kept, named by its kind.
        let form = claim_form(&csrf, &[]).part(
            "receipt_scans",
            Part::bytes(PNG.to_vec()).mime_str("image/png").unwrap(),
        );
        let answer = submit(&web, &li, form).await;
        assert_eq!(answer.status(), 303, "{:?}", answer.text().await);
        let id: i64 = answer.headers()["location"].to_str().unwrap().trim_start_matches("/requests/").split('?').next().unwrap().parse().unwrap();
        let view = web.h.engine.instance(signoff_engine::runtime::InstanceId(id)).await.unwrap();
        assert_eq!(view.form["receipt_scans"][0]["name"], "attachment.png");
    }
}
