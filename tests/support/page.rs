//! The softphone page (`web/index.html`, served at `/`) driven like a user: real WebDriver clicks
//! on its stable element ids, reads of what it shows, the phone-sized window and screenshots.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::Locator;
use serde_json::json;

use super::browser::Browser;

/// Bound on one WebDriver command of the page helpers.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// Clicks the element matching `css` (WebDriver element click: it must be visible and enabled).
pub(crate) async fn click(browser: &Browser, css: &str) -> Result<()> {
    let client = browser.webdriver()?;
    let click = async {
        let element = client.find(Locator::Css(css)).await?;
        element.click().await
    };
    tokio::time::timeout(COMMAND_TIMEOUT, click)
        .await
        .map_err(|_| anyhow!("clicking {css}: no result within {COMMAND_TIMEOUT:?}"))?
        .map_err(|e| anyhow!("clicking {css}: {e}"))
}

/// The text of the element matching `css` (`value` for an input), trimmed.
pub(crate) async fn text(browser: &Browser, css: &str) -> Result<String> {
    let value = browser
        .eval(
            "const el = document.querySelector(arguments[0]);\n\
             if (!el) return null;\n\
             return ('value' in el && el.tagName === 'INPUT') ? el.value : el.textContent;",
            vec![json!(css)],
        )
        .await?;
    value
        .as_str()
        .map(|s| s.trim().to_owned())
        .with_context(|| format!("no element {css} on the page"))
}

/// Polls the text of `css` until `wanted` accepts it, within `timeout`; returns that text.
pub(crate) async fn wait_text(
    browser: &Browser,
    css: &str,
    what: &str,
    timeout: Duration,
    wanted: impl Fn(&str) -> bool,
) -> Result<String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let now = text(browser, css).await?;
        if wanted(&now) {
            return Ok(now);
        }
        if tokio::time::Instant::now() >= deadline {
            let error = text(browser, "#error").await.unwrap_or_default();
            let log = text(browser, "#log").await.unwrap_or_default();
            bail!(
                "{css} never showed {what} within {timeout:?} (last: {now:?}); #error: {error:?}\n#log:\n{log}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sets the browser window to `width` x `height` CSS pixels (a phone: 390 x 844).
pub(crate) async fn window_size(browser: &Browser, width: u32, height: u32) -> Result<()> {
    tokio::time::timeout(
        COMMAND_TIMEOUT,
        browser.webdriver()?.set_window_size(width, height),
    )
    .await
    .map_err(|_| anyhow!("resizing the window: no result within {COMMAND_TIMEOUT:?}"))?
    .map_err(|e| anyhow!("resizing the window: {e}"))
}

/// Loads `url` in the browser (no test client injected: the page runs on its own).
pub(crate) async fn goto(browser: &Browser, url: &str) -> Result<()> {
    tokio::time::timeout(COMMAND_TIMEOUT, browser.webdriver()?.goto(url))
        .await
        .map_err(|_| anyhow!("loading {url}: no result within {COMMAND_TIMEOUT:?}"))?
        .map_err(|e| anyhow!("loading {url}: {e}"))
}

/// Saves a PNG screenshot of the window to `path`.
pub(crate) async fn screenshot(browser: &Browser, path: &Path) -> Result<()> {
    let png = tokio::time::timeout(COMMAND_TIMEOUT, browser.webdriver()?.screenshot())
        .await
        .map_err(|_| anyhow!("screenshot: no result within {COMMAND_TIMEOUT:?}"))?
        .map_err(|e| anyhow!("screenshot: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
}
