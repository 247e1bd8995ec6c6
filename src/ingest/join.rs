//! `--join activities.csv`: merges a Strava bulk export's CSV into the
//! properties of the activities read from the files it names.
//!
//! Real exports are untidy: columns repeat (two "Elapsed Time", two
//! "Distance"), older ones carry untranslated HTML in their headers, dates
//! contain commas. The first non-empty value of a repeated column wins;
//! HTML is stripped from headers; numbers and booleans become JSON numbers
//! and booleans so filters can compare them.

use serde_json::{Map, Value};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: csv::Error },
    #[error("{path} has no 'Filename' column (is it a Strava activities.csv?)")]
    NoFilename { path: String },
}

/// Rows of the CSV as (file name, properties), for rows that name a file.
/// A CSV row: the file it names and the properties to merge.
pub(crate) type JoinRow = (String, Map<String, Value>);

pub fn read_join_csv(path: &Path) -> Result<Vec<JoinRow>, JoinError> {
    let shown = path.display().to_string();
    let err = |source| JoinError::Read {
        path: shown.clone(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(err)?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(err)?
        .iter()
        .map(clean_header)
        .collect();
    let Some(file_col) = headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("filename"))
    else {
        return Err(JoinError::NoFilename { path: shown });
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(err)?;
        let Some(file) = record
            .get(file_col)
            .map(str::trim)
            .filter(|f| !f.is_empty())
        else {
            continue;
        };
        let mut props = Map::new();
        for (h, v) in headers.iter().zip(record.iter()) {
            let v = v.trim();
            if h.is_empty() || v.is_empty() || props.contains_key(h) {
                continue;
            }
            props.insert(h.clone(), typed(v));
        }
        rows.push((file.to_string(), props));
    }
    Ok(rows)
}

/// `<span class="translation_missing" title="...">Commute</span>` → `Commute`.
fn clean_header(h: &str) -> String {
    let mut out = String::with_capacity(h.len());
    let mut in_tag = false;
    for c in h.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

fn typed(v: &str) -> Value {
    if let Ok(n) = v.parse::<f64>()
        && let Some(num) = serde_json::Number::from_f64(n)
    {
        return Value::Number(num);
    }
    match v {
        "true" | "TRUE" | "True" => Value::Bool(true),
        "false" | "FALSE" | "False" => Value::Bool(false),
        _ => Value::String(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_columns_and_html_headers() {
        let dir = std::env::temp_dir().join(format!("hotpot-join-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("activities.csv");
        std::fs::write(
            &p,
            "Activity ID,Activity Date,Distance,Filename,Distance,<span class=\"x\">Commute</span>\n\
             1,\"Jan 1, 2024, 8:00:00 AM\",12.5,activities/1.gpx,12500,false\n\
             2,\"Jan 2, 2024, 8:00:00 AM\",,,,true\n",
        )
        .unwrap();
        let rows = read_join_csv(&p).unwrap();
        assert_eq!(rows.len(), 1, "the row without a file is skipped");
        let (file, props) = &rows[0];
        assert_eq!(file, "activities/1.gpx");
        assert_eq!(props["Distance"], 12.5);
        assert_eq!(props["Commute"], false);
        assert_eq!(props["Activity Date"], "Jan 1, 2024, 8:00:00 AM");
        std::fs::write(&p, "a,b\n1,2\n").unwrap();
        assert!(matches!(
            read_join_csv(&p),
            Err(JoinError::NoFilename { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
