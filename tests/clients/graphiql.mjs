// GraphiQL in Debian's headless Chromium, driven by playwright-core (tests/browser/test_graphiql_with_playwright.py).
// One JSON argument: {chromium, flags, url, query, headers, expect, screenshot}. Opens the page, types the query
// into the query editor and the headers into the Headers tab with the keyboard, runs it with the execute
// button, waits until the response pane contains `expect`, saves a screenshot, and prints one JSON line:
//   {"query": <query editor text>, "headers": <headers editor text>, "response": <response pane text>,
//    "requests": [<URL of every request the page made>], "consoleErrors": [...]}
import { chromium } from "playwright-core";

const config = JSON.parse(process.argv[2]);
const browser = await chromium.launch({ executablePath: config.chromium, args: config.flags, headless: true });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15_000);
  const requests = [];
  const consoleErrors = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
  page.on("pageerror", (error) => consoleErrors.push(String(error)));

  await page.goto(config.url);
  const editorText = (selector) =>
    page.$eval(selector, (element) => element.CodeMirror.getValue());
  const replaceByTyping = async (selector, text) => {
    await page.click(`${selector} .CodeMirror-lines`);
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.type(text);
    await page.keyboard.press("Escape"); // close an autocompletion list, if one opened
  };

  const query = ".graphiql-query-editor .CodeMirror";
  await page.waitForSelector(query);
  // The schema must be there (GraphiQL introspects first) before the editors behave as a user sees them.
  await page.click('button[aria-label="Show Documentation Explorer"]');
  await page.waitForSelector(".graphiql-doc-explorer >> text=query: Query");

  await replaceByTyping(".graphiql-query-editor", config.query);
  await page.click('.graphiql-editor-tools button:has-text("Headers")');
  const headers = ".graphiql-editor-tool .graphiql-editor:not(.hidden)";
  await page.waitForSelector(`${headers} .CodeMirror`);
  await replaceByTyping(headers, config.headers);

  await page.click(".graphiql-execute-button");
  const response = ".graphiql-response .CodeMirror";
  await page.waitForFunction(
    ([selector, expected]) => document.querySelector(selector)?.CodeMirror.getValue().includes(expected),
    [response, config.expect],
  );
  await page.screenshot({ path: config.screenshot, fullPage: true });
  console.log(
    JSON.stringify({
      query: await editorText(query),
      headers: await editorText(`${headers} .CodeMirror`),
      response: await editorText(response),
      requests,
      consoleErrors,
    }),
  );
} finally {
  await browser.close();
}
