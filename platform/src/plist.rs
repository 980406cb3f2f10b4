//! Just enough of Apple's XML property list format to read the trust settings that
//! `security trust-settings-export` writes: dicts, arrays, strings, integers, data, dates and
//! booleans. Anything else is an error rather than a guess.

use crate::pem::base64_decode;

/// A property list value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Dict(Vec<(String, Value)>),
    Array(Vec<Value>),
    String(String),
    Integer(i64),
    Real(String),
    Data(Vec<u8>),
    Date(String),
    Bool(bool),
}

impl Value {
    /// The value under `key`, when this is a dict holding it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Open(&'a str),
    Close(&'a str),
    Empty(&'a str),
    Text(&'a str),
}

fn tokenize<'a>(text: &'a str) -> Result<Vec<Token<'a>>, String> {
    let mut tokens = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').ok_or("unterminated tag")?;
            let tag = &after[..end];
            rest = &after[end + 1..];
            if tag.starts_with('?') || tag.starts_with('!') {
                continue; // <?xml …?>, <!DOCTYPE …>, comments without '>' inside
            }
            let name = |t: &'a str| t.split_whitespace().next().unwrap_or("");
            if let Some(t) = tag.strip_prefix('/') {
                tokens.push(Token::Close(name(t)));
            } else if let Some(t) = tag.strip_suffix('/') {
                tokens.push(Token::Empty(name(t)));
            } else {
                tokens.push(Token::Open(name(tag)));
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            tokens.push(Token::Text(&rest[..end]));
            rest = &rest[end..];
        }
    }
    Ok(tokens)
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    /// The next token that is not whitespace-only text.
    fn next(&mut self) -> Option<&Token<'a>> {
        self.skip_whitespace();
        let token = self.tokens.get(self.pos);
        self.pos += 1;
        token
    }

    /// Text up to the closing tag `name` (empty when the element is empty).
    fn text_until(&mut self, name: &str) -> Result<String, String> {
        let mut text = String::new();
        if let Some(Token::Text(t)) = self.tokens.get(self.pos) {
            text = unescape(t);
            self.pos += 1;
        }
        match self.tokens.get(self.pos) {
            Some(Token::Close(n)) if *n == name => {
                self.pos += 1;
                Ok(text)
            }
            other => Err(format!("expected </{name}>, found {other:?}")),
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        let token = self.next().ok_or("unexpected end of property list")?;
        match *token {
            Token::Empty("dict") => Ok(Value::Dict(Vec::new())),
            Token::Empty("array") => Ok(Value::Array(Vec::new())),
            Token::Empty("string") => Ok(Value::String(String::new())),
            Token::Empty("data") => Ok(Value::Data(Vec::new())),
            Token::Empty("true") => Ok(Value::Bool(true)),
            Token::Empty("false") => Ok(Value::Bool(false)),
            Token::Open("dict") => {
                let mut entries = Vec::new();
                loop {
                    match self.next() {
                        Some(Token::Close("dict")) => return Ok(Value::Dict(entries)),
                        Some(Token::Open("key")) => {
                            let key = self.text_until("key")?;
                            let value = self.value()?;
                            entries.push((key, value));
                        }
                        other => return Err(format!("expected <key> in <dict>, found {other:?}")),
                    }
                }
            }
            Token::Open("array") => {
                let mut items = Vec::new();
                loop {
                    if let Some(Token::Close("array")) = self.peek() {
                        self.next();
                        return Ok(Value::Array(items));
                    }
                    items.push(self.value()?);
                }
            }
            Token::Open("string") => Ok(Value::String(self.text_until("string")?)),
            Token::Open("date") => Ok(Value::Date(self.text_until("date")?.trim().to_string())),
            Token::Open("real") => Ok(Value::Real(self.text_until("real")?.trim().to_string())),
            Token::Open("integer") => {
                let text = self.text_until("integer")?;
                text.trim().parse().map(Value::Integer).map_err(|e| format!("bad integer {text:?}: {e}"))
            }
            Token::Open("data") => {
                let text = self.text_until("data")?;
                base64_decode(&text).map(Value::Data).ok_or_else(|| "bad base64 in <data>".to_string())
            }
            ref other => Err(format!("unexpected {other:?}")),
        }
    }

    /// The next token that is not whitespace-only text, without consuming it.
    fn peek(&mut self) -> Option<&Token<'a>> {
        self.skip_whitespace();
        self.tokens.get(self.pos)
    }

    fn skip_whitespace(&mut self) {
        while let Some(Token::Text(t)) = self.tokens.get(self.pos) {
            if !t.trim().is_empty() {
                break;
            }
            self.pos += 1;
        }
    }
}

/// Parses an XML property list (the `<plist>` wrapper is optional).
pub fn parse(text: &str) -> Result<Value, String> {
    let mut tokens = tokenize(text)?;
    tokens.retain(|t| !matches!(t, Token::Open("plist") | Token::Close("plist")));
    let mut parser = Parser { tokens, pos: 0 };
    let value = parser.value()?;
    match parser.next() {
        None => Ok(value),
        Some(extra) => Err(format!("unexpected {extra:?} after the top value")),
    }
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
        assert_eq!(
            v.get("a"),
            Some(&Value::Array(vec![
                Value::Dict(vec![]),
                Value::Integer(-3),
                Value::Data(vec![0x2a, 0x86, 0x48, 0x86, 0xf7, 0x63, 0x64, 0x01, 0x03]),
                Value::String("x & y".into()),
                Value::Bool(true),
            ]))
        );
        assert_eq!(v.get("b"), Some(&Value::Date("2024-01-02T03:04:05Z".into())));
        assert_eq!(v.get("c"), Some(&Value::Array(vec![])));
        assert!(parse("<dict><key>a</key></dict>").is_err());
        assert!(parse("<dict><string>a</string></dict>").is_err());
    }
}
