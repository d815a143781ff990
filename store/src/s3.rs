//! The S3 calls the store makes, as SigV4-signed REST requests over [`AwsClient`]: objects put,
//! read, looked up, listed and deleted, and the bucket created and removed. Path-style addressing
//! (`ENDPOINT/BUCKET/KEY`), so any S3-compatible endpoint works. Each call is idempotent, so one
//! that met a server error or no answer is retried twice, after 100 and 400 ms.

use std::time::Duration;

use anyhow::{Result, bail};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quick_xml::events::Event;

use crate::aws_api::{Answer, AwsClient, Failure};

/// What S3 leaves unencoded in a path or a query value (RFC 3986's unreserved characters).
const VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// The same, keeping the slashes between a key's segments.
const PATH: &AsciiSet = &VALUE.remove(b'/');

/// Keys per page of a listing (S3's most).
const PAGE: u32 = 1000;

/// One bucket at one S3 endpoint.
#[derive(Clone)]
pub struct Bucket {
    client: AwsClient,
    /// `https://s3.REGION.amazonaws.com`, or an S3-compatible endpoint.
    endpoint: String,
    name: String,
}

impl Bucket {
    /// The signed client the bucket is reached with.
    pub fn client(&self) -> &AwsClient {
        &self.client
    }

    /// Bucket `name` at `endpoint` (None: AWS's S3 in the client's region).
    pub fn new(client: AwsClient, endpoint: Option<&str>, name: &str) -> Bucket {
        let endpoint = endpoint.map_or_else(|| format!("https://s3.{}.amazonaws.com", client.region()), |e| e.trim_end_matches('/').to_string());
        Bucket { client, endpoint, name: name.to_string() }
    }

    /// Creates the bucket unless it exists (and is this account's).
    pub async fn ensure(&self) -> Result<()> {
        if self.call("HEAD", "", "", Vec::new()).await?.status == 200 {
            return Ok(());
        }
        // Outside us-east-1 a bucket is created where its configuration says.
        let region = self.client.region();
        let body = if region == "us-east-1" {
            Vec::new()
        } else {
            format!("<CreateBucketConfiguration><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>").into_bytes()
        };
        let answer = self.call("PUT", "", "", body).await?;
        match answer.status {
            200 => Ok(()),
            409 if refusal(&answer).0 == "BucketAlreadyOwnedByYou" => Ok(()),
            _ => Err(refused(&format!("creating bucket '{}'", self.name), &answer)),
        }
    }

    /// Deletes the bucket, which must be empty.
    pub async fn delete_bucket(&self) -> Result<()> {
        let answer = self.call("DELETE", "", "", Vec::new()).await?;
        if answer.status != 204 && answer.status != 200 {
            return Err(refused(&format!("deleting bucket '{}'", self.name), &answer));
        }
        Ok(())
    }

    /// Whether object `key` exists.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        let answer = self.call("HEAD", key, "", Vec::new()).await?;
        match answer.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(refused(&format!("looking up {key}"), &answer)),
        }
    }

    /// Writes object `key`.
    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<()> {
        let answer = self.call("PUT", key, "", body).await?;
        if answer.status != 200 {
            return Err(refused(&format!("writing {key}"), &answer));
        }
        Ok(())
    }

    /// Object `key`'s bytes; None when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let answer = self.call("GET", key, "", Vec::new()).await?;
        match answer.status {
            200 => Ok(Some(answer.body)),
            404 => Ok(None),
            _ => Err(refused(&format!("reading {key}"), &answer)),
        }
    }

    /// Deletes object `key` (deleting what is absent is fine).
    pub async fn delete(&self, key: &str) -> Result<()> {
        let answer = self.call("DELETE", key, "", Vec::new()).await?;
        if answer.status != 204 && answer.status != 200 {
            return Err(refused(&format!("deleting {key}"), &answer));
        }
        Ok(())
    }

    /// Every key that starts with `prefix`, in S3's order, page after page; at most `most`.
    pub async fn list(&self, prefix: &str, most: Option<usize>) -> Result<Vec<String>> {
        let (mut keys, mut token) = (Vec::new(), None::<String>);
        loop {
            let mut query = format!("list-type=2&max-keys={PAGE}&prefix={}", utf8_percent_encode(prefix, VALUE));
            if let Some(token) = &token {
                query = format!("continuation-token={}&{query}", utf8_percent_encode(token, VALUE));
            }
            let answer = self.call("GET", "", &query, Vec::new()).await?;
            if answer.status != 200 {
                return Err(refused(&format!("listing {prefix}"), &answer));
            }
            let page = Listing::parse(&answer.body)?;
            keys.extend(page.keys);
            if most.is_some_and(|most| keys.len() >= most) {
                keys.truncate(most.unwrap_or(usize::MAX));
                return Ok(keys);
            }
            match page.next {
                Some(next) if page.truncated => token = Some(next),
                _ => return Ok(keys),
            }
        }
    }

    /// Sends one request about `key` (empty: the bucket itself), retrying what may pass later.
    async fn call(&self, method: &str, key: &str, query: &str, body: Vec<u8>) -> Result<Answer> {
        let mut url = format!("{}/{}", self.endpoint, utf8_percent_encode(&self.name, VALUE));
        if !key.is_empty() {
            url = format!("{url}/{}", utf8_percent_encode(key, PATH));
        }
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        let (body, mut last) = (bytes::Bytes::from(body), None);
        for wait_ms in [0, 100, 400] {
            tokio::time::sleep(Duration::from_millis(wait_ms)).await;
            match self.client.send("s3", method, &url, &[], body.clone()).await {
                Ok(answer) if answer.status < 500 => return Ok(answer),
                Ok(answer) => last = Some(refused(&format!("{method} {url}"), &answer)),
                Err(Failure::Unsigned(why)) => bail!("S3: {method} {url}: cannot sign the request: {why}"),
                Err(failure) => last = Some(anyhow::anyhow!("S3: {method} {url}: {failure}")),
            }
        }
        Err(last.expect("at least one attempt"))
    }
}

/// A page of a listing (ListObjectsV2's answer).
#[derive(Debug, Default, PartialEq)]
struct Listing {
    keys: Vec<String>,
    truncated: bool,
    next: Option<String>,
}

impl Listing {
    fn parse(xml: &[u8]) -> Result<Listing> {
        let mut page = Listing::default();
        for (element, text) in leaves(xml)? {
            match element.as_str() {
                "Key" => page.keys.push(text),
                "IsTruncated" => page.truncated = text == "true",
                "NextContinuationToken" => page.next = Some(text),
                _ => {}
            }
        }
        Ok(page)
    }
}

/// The text of every element of `xml` that holds text, by the element's local name, in order.
fn leaves(xml: &[u8]) -> Result<Vec<(String, String)>> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let (mut open, mut text, mut leaves) = (Vec::<String>::new(), String::new(), Vec::new());
    loop {
        match reader.read_event()? {
            Event::Start(start) => {
                open.push(String::from_utf8_lossy(start.local_name().as_ref()).into_owned());
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.decode()?),
            Event::CData(t) => text.push_str(&t.decode()?),
            Event::GeneralRef(r) => match r.resolve_char_ref()? {
                Some(c) => text.push(c),
                None => text.push_str(quick_xml::escape::resolve_predefined_entity(&r.decode()?).unwrap_or_default()),
            },
            Event::End(_) => {
                if let Some(element) = open.pop() {
                    leaves.push((element, std::mem::take(&mut text)));
                }
            }
            Event::Eof => return Ok(leaves),
            _ => {}
        }
    }
}

/// S3's error code and message in a refusal's body (empty when it has none, as a HEAD's).
fn refusal(answer: &Answer) -> (String, String) {
    let leaves = leaves(&answer.body).unwrap_or_default();
    let find = |name: &str| leaves.iter().find(|(e, _)| e == name).map(|(_, t)| t.clone()).unwrap_or_default();
    (find("Code"), find("Message"))
}

fn refused(what: &str, answer: &Answer) -> anyhow::Error {
    let (code, message) = refusal(answer);
    anyhow::anyhow!("S3: {what}: {} {code} {message}", answer.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_page_gives_its_keys_entities_resolved_and_where_the_next_starts() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
<Contents><Key>p/a&amp;b</Key><Size>3</Size></Contents><Contents><Key>p/&#233;t&#xE9;</Key></Contents>
<IsTruncated>true</IsTruncated><NextContinuationToken>t+1/=</NextContinuationToken></ListBucketResult>"#;
        let page = Listing::parse(xml).unwrap();
        assert_eq!(page, Listing { keys: vec!["p/a&b".into(), "p/été".into()], truncated: true, next: Some("t+1/=".into()) });
        let last = Listing::parse(b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>").unwrap();
        assert_eq!(last, Listing::default());
        assert!(Listing::parse(b"<ListBucketResult><Key>x</Wrong>").is_err(), "malformed XML is an error, not an empty page");
    }

    #[test]
    fn keys_are_encoded_once_slashes_kept() {
        assert_eq!(utf8_percent_encode("apps/my app/policy.json", PATH).to_string(), "apps/my%20app/policy.json");
        assert_eq!(utf8_percent_encode("a/b+c=~", VALUE).to_string(), "a%2Fb%2Bc%3D~");
    }
}
