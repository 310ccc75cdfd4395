//! The tutorial reads in the course's order: rustdoc lists a module's
//! submodules by name, so each chapter's module name starts with its
//! number, and its title says the same number. A chapter added out of
//! order, or renumbered in its title only, fails here.

use std::fs;
use std::path::Path;

/// The chapter number a title line carries: "# Chapter 6, continued — …"
/// gives 6.
fn title_number(title: &str) -> Option<u32> {
    let rest = title.strip_prefix("//! # Chapter ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[test]
fn chapters_sort_by_name_in_course_order_and_titles_agree() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tutorial");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("src/tutorial exists")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    names.sort(); // rustdoc's order for these names
    assert!(names.len() >= 10, "chapters found: {names:?}");
    let mut last = 0;
    for name in &names {
        let from_name: u32 = name
            .strip_prefix("ch")
            .and_then(|n| n.get(..2))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name}: a chapter's module is named chNN_topic"));
        let text = fs::read_to_string(dir.join(name)).unwrap();
        let title = text.lines().next().unwrap_or_default();
        let from_title = title_number(title).unwrap_or_else(|| {
            panic!("{name}: the first line is `//! # Chapter N — …`, not {title:?}")
        });
        assert_eq!(
            from_name, from_title,
            "{name}: the title says chapter {from_title}"
        );
        assert!(from_name >= last, "{name} sorts after chapter {last}");
        last = from_name;
    }
    // The contents page lists every chapter, in the same order.
    let contents = fs::read_to_string(dir.with_extension("rs")).unwrap();
    let listed: Vec<&str> = names.iter().map(|n| n.trim_end_matches(".rs")).collect();
    let positions: Vec<usize> = listed
        .iter()
        .map(|m| {
            contents
                .find(&format!("[`{m}`]"))
                .unwrap_or_else(|| panic!("src/tutorial.rs does not list {m}"))
        })
        .collect();
    assert!(
        positions.is_sorted(),
        "src/tutorial.rs lists the chapters out of order"
    );
}
