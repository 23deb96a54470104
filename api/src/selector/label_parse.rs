//! The lexer and parser of the label selector string form, following apimachinery's
//! `labels.Parse`: identifiers run up to whitespace or one of `!=(),<>`; `in` and `notin`
//! are keywords.

use super::SelectorError;
use super::label::{LabelSelector, Operator, Requirement};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Ident(String),
    In,
    NotIn,
    Eq,
    NotEq,
    Bang,
    Open,
    Close,
    Comma,
    Gt,
    Lt,
}

fn describe(t: Option<&Token>) -> String {
    match t {
        None => "end of string".into(),
        Some(Token::Ident(s)) => format!("identifier {s:?}"),
        Some(Token::In) => "'in'".into(),
        Some(Token::NotIn) => "'notin'".into(),
        Some(Token::Eq) => "'='".into(),
        Some(Token::NotEq) => "'!='".into(),
        Some(Token::Bang) => "'!'".into(),
        Some(Token::Open) => "'('".into(),
        Some(Token::Close) => "')'".into(),
        Some(Token::Comma) => "','".into(),
        Some(Token::Gt) => "'>'".into(),
        Some(Token::Lt) => "'<'".into(),
    }
}

fn lex(text: &str) -> Vec<Token> {
    let special = |c: char| c.is_whitespace() || "!=(),<>".contains(c);
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if special(c) {
            chars.next();
            let followed_by_eq = chars.next_if_eq(&'=').is_some();
            tokens.push(match (c, followed_by_eq) {
                ('!', true) => Token::NotEq,
                ('!', false) => Token::Bang,
                ('=', _) => Token::Eq,
                ('(', _) => Token::Open,
                (')', _) => Token::Close,
                (',', _) => Token::Comma,
                ('>', _) => Token::Gt,
                _ => Token::Lt,
            });
            // `==` is one `=`; after `(`, `,`, `>`, `<` the `=` is a token of its own.
            if followed_by_eq && !matches!(c, '!' | '=') {
                tokens.push(Token::Eq);
            }
            continue;
        }
        let mut ident = String::new();
        while let Some(c) = chars.next_if(|c| !special(*c)) {
            ident.push(c);
        }
        tokens.push(match ident.as_str() {
            "in" => Token::In,
            "notin" => Token::NotIn,
            _ => Token::Ident(ident),
        });
    }
    tokens
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn error(&self, expected: &str) -> SelectorError {
        SelectorError::Syntax(format!(
            "found {}, expected: {expected}",
            describe(self.peek())
        ))
    }

    fn key(&mut self) -> Result<String, SelectorError> {
        match self.peek() {
            Some(Token::Ident(k)) => {
                let k = k.clone();
                self.pos += 1;
                Ok(k)
            }
            _ => Err(self.error("identifier")),
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        if self.peek() == Some(&Token::Bang) {
            self.pos += 1;
            let key = self.key()?;
            return LabelSelector::requirement(&key, Operator::DoesNotExist, Vec::new());
        }
        let key = self.key()?;
        let operator = match self.peek() {
            None | Some(Token::Comma) => {
                return LabelSelector::requirement(&key, Operator::Exists, Vec::new());
            }
            Some(Token::Eq) => Operator::Equals,
            Some(Token::NotEq) => Operator::NotEquals,
            Some(Token::Gt) => Operator::GreaterThan,
            Some(Token::Lt) => Operator::LessThan,
            Some(Token::In) => Operator::In,
            Some(Token::NotIn) => Operator::NotIn,
            _ => {
                return Err(
                    self.error("'=', '!=', '==', 'in', 'notin', '>', '<', ',' or end of string")
                );
            }
        };
        self.pos += 1;
        let values = match operator {
            Operator::In | Operator::NotIn => self.set()?,
            _ => vec![self.single_value()?],
        };
        LabelSelector::requirement(&key, operator, values)
    }

    /// After `=`, `!=`, `>`, `<`: an identifier, or nothing (the empty value).
    fn single_value(&mut self) -> Result<String, SelectorError> {
        match self.peek() {
            Some(Token::Ident(v)) => {
                let v = v.clone();
                self.pos += 1;
                Ok(v)
            }
            None | Some(Token::Comma) => Ok(String::new()),
            _ => Err(self.error("identifier")),
        }
    }

    /// `( v1, v2 )`; an empty slot is the empty value, so `()` is `("")`.
    fn set(&mut self) -> Result<Vec<String>, SelectorError> {
        if self.next() != Some(Token::Open) {
            self.pos -= 1;
            return Err(self.error("'('"));
        }
        let mut values = Vec::new();
        let mut current = String::new();
        loop {
            match self.next() {
                Some(Token::Ident(v)) if current.is_empty() => current = v,
                Some(Token::Comma) => values.push(std::mem::take(&mut current)),
                Some(Token::Close) => {
                    values.push(current);
                    return Ok(values);
                }
                _ => {
                    self.pos -= 1;
                    return Err(self.error("',', ')' or identifier"));
                }
            }
        }
    }
}

/// The requirements of `text`, in the order written.
pub(crate) fn parse(text: &str) -> Result<Vec<Requirement>, SelectorError> {
    let mut p = Parser {
        tokens: lex(text),
        pos: 0,
    };
    let mut requirements = Vec::new();
    if p.peek().is_none() {
        return Ok(requirements);
    }
    loop {
        requirements.push(p.requirement()?);
        match p.next() {
            None => return Ok(requirements),
            Some(Token::Comma) if p.peek().is_some() => {}
            Some(Token::Comma) => return Err(p.error("identifier after ','")),
            Some(_) => {
                p.pos -= 1;
                return Err(p.error("',' or end of string"));
            }
        }
    }
}
