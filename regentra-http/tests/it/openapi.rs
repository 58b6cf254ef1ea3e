//! The OpenAPI document, snapshotted: every change to the API (a route, a
//! field, a status) shows up in review as a change to this snapshot.

#[test]
fn the_openapi_document_is_reviewed() {
    let document = regentra_http::server::openapi::document();
    let value = serde_json::to_value(&document).expect("serializable");
    assert_eq!(value["openapi"], "3.1.0");
    insta::assert_json_snapshot!("openapi", value);
}

#[test]
fn every_operation_is_documented_with_a_problem_for_its_errors() {
    let value = serde_json::to_value(regentra_http::server::openapi::document()).expect("json");
    let mut operations = 0;
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in value["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            operations += 1;
            let id = op["operationId"].as_str().unwrap_or("").to_owned();
            assert!(
                ids.insert(id.clone()),
                "operationId {id} is not unique ({method} {path})"
            );
            let summary = op["summary"].as_str().unwrap_or("");
            assert!(!summary.is_empty(), "{method} {path} has no summary");
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                !responses.is_empty(),
                "{method} {path} documents no response"
            );
            let public = path == "/v1/auth/login"
                || path == "/v1/auth/login/mfa"
                || path.starts_with("/portal/");
            if !public {
                assert!(
                    op["security"].is_array(),
                    "{method} {path} does not say it needs a token"
                );
            }
        }
    }
    assert!(operations >= 90, "{operations} operations");
    // Every schema the document refers to is in it.
    let text = value.to_string();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap_or("");
        assert!(
            !value["components"]["schemas"][name].is_null(),
            "{name} is referred to but not defined"
        );
    }
}
