//! Reading the property lists that `security trust-settings-export` writes (Apple's XML format),
//! with the `plist` crate: what macOS tooling in Rust uses, and it reads Apple's binary format too.

pub use ::plist::Value;

/// Parses an XML property list.
pub fn parse(text: &str) -> Result<Value, String> {
    Value::from_reader_xml(text.as_bytes()).map_err(|e| e.to_string())
}

/// The value under `key`, when `value` is a dict holding it.
pub fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_dictionary()?.get(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_values() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
            <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
            <plist version=\"1.0\">\n<dict>\n\t<key>a</key>\n\t<array>\n\t\t<dict/>\n\t\t<integer>-3</integer>\n\
            \t\t<data>\n\t\tKoZIhvdjZAED\n\t\t</data>\n\t\t<string>x &amp; y</string>\n\t\t<true/>\n\t</array>\n\
            \t<key>b</key>\n\t<date>2024-01-02T03:04:05Z</date>\n\t<key>c</key>\n\t<array/>\n</dict>\n</plist>\n";
        let v = parse(text).unwrap();
        let a = get(&v, "a").and_then(Value::as_array).unwrap();
        assert_eq!(a.len(), 5);
        assert!(a[0].as_dictionary().is_some_and(|d| d.is_empty()));
        assert_eq!(a[1].as_signed_integer(), Some(-3));
        assert_eq!(a[2].as_data(), Some(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x63, 0x64, 0x01, 0x03][..]));
        assert_eq!(a[3].as_string(), Some("x & y"));
        assert_eq!(a[4].as_boolean(), Some(true));
        assert!(get(&v, "b").and_then(Value::as_date).is_some());
        assert_eq!(get(&v, "c").and_then(Value::as_array).map(Vec::len), Some(0));
        assert!(get(&v, "d").is_none());
        assert!(parse("<plist><dict><key>a</key></dict></plist>").is_err());
        assert!(parse("<plist><dict><string>a</string></dict></plist>").is_err());
        assert!(parse("<plist><dict>").is_err());
    }
}
