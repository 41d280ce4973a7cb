// Browser test of the web inbox, run by server/web_browser_component_test.go (make test) against
// a real server with a fake Telegram. playwright-core drives Debian's chromium.
// Env: BASE (the page's origin), API (the API's origin), KEY, SEED (JSON from the Go test),
// SHOTS (screenshot folder), MODE (inbox | cors), CHROMIUM (the browser's path).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const { BASE, API, KEY, SHOTS, MODE = "inbox", PROTOCOL = "grpc-web", CHROMIUM = "/usr/bin/chromium" } = process.env;
const SEED = JSON.parse(process.env.SEED || "{}");
const WAIT = 20000; // generous: the machine may be loaded; latencies are measured and printed
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const consoleErrors = [];
page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
page.on("pageerror", (e) => consoleErrors.push(String(e)));
const apiTypes = new Set(); // the content types of the page's API calls: the protocol on the wire
page.on("request", (r) => {
  if (r.method() === "POST" && r.url().includes("/switchboard.v1.")) apiTypes.add(r.headers()["content-type"]);
});
let step = 0;
const shot = async (name) => page.screenshot({ path: `${SHOTS}/${MODE}-${PROTOCOL}-${String(++step).padStart(2, "0")}-${name}.png` });
const log = (...a) => console.log(`[${MODE}]`, ...a);
const fail = async (msg) => {
  await shot("FAILED").catch(() => {});
  console.error(`FAIL [${MODE}] ${msg}`);
  if (consoleErrors.length) console.error("browser console errors:\n" + consoleErrors.join("\n"));
  await browser.close();
  process.exit(1);
};
async function expect(what, fn) {
  try { await fn(); } catch (e) { await fail(`${what}: ${e.message.split("\n")[0]}`); }
}
const row = (text) => page.locator(".threads .row", { hasText: text });

async function ingest(body) {
  const r = await fetch(`${API}/switchboard.v1.IngestService/IngestMessage`, {
    method: "POST", headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!r.ok) await fail(`IngestMessage answered ${r.status}: ${await r.text()}`);
  return r.json();
}

try {
  await page.goto(BASE);
  await expect("the sign-in form", () => page.locator("#key").waitFor({ timeout: WAIT }));
  await shot("signin");
  if (MODE === "cors") {
    await page.locator(".advanced summary").click();
    await page.fill("#server", API);
    await page.selectOption("#protocol", PROTOCOL);
  }
  if (MODE === "inbox") { // a wrong key is refused in words, and nothing is stored
    await page.fill("#key", "sb_not-a-real-key");
    await page.click("button[type=submit]");
    await expect("a wrong key refused", () => page.locator(".form-error", { hasText: "refused" }).waitFor({ timeout: WAIT }));
    if (await page.evaluate(() => sessionStorage.length) !== 0) await fail("a refused key must not be stored");
    await shot("signin-refused");
  }
  await page.fill("#key", KEY);
  await page.click("button[type=submit]");

  // The list shows the seeded threads.
  for (const name of SEED.inbox) {
    await expect(`seeded thread ${name} in the inbox`, () => row(name).first().waitFor({ timeout: WAIT }));
  }
  const key = await page.evaluate(() => ({ url: location.href, stored: !!sessionStorage.getItem("switchboard.session"), local: localStorage.length }));
  if (key.url.includes(KEY) || !key.stored || key.local !== 0) await fail(`the key must be in sessionStorage only: ${JSON.stringify(key)}`);
  await expect("the live or polling state", () => page.locator("[data-testid=conn]", { hasText: /live|polling/ }).waitFor({ timeout: WAIT }));
  log("connection:", await page.locator("[data-testid=conn]").innerText());
  await shot("inbox");

  if (MODE === "cors") {
    const origin = await page.evaluate(() => location.origin);
    if (origin === new URL(API).origin) await fail(`the page must be on another origin than the API (${origin})`);
    const want = PROTOCOL === "connect" ? /^application\/(connect\+)?proto$/ : /^application\/grpc-web\+proto$/;
    if (apiTypes.size === 0 || [...apiTypes].some((t) => !want.test(t))) await fail(`the page must speak ${PROTOCOL}: content types ${JSON.stringify([...apiTypes])}`);
    log(`page at ${origin} read the API at ${API} over ${PROTOCOL} (${[...apiTypes].join(", ")})`);
    await browser.close();
    process.exit(0);
  }

  // A message ingested over HTTP moves its thread to the top, without a reload.
  const nonce = Date.now().toString(36);
  const text = `Do you ship to Lisbon? ref ${nonce}`;
  const t0 = Date.now();
  await ingest({ accountLinkId: SEED.accountLinkId, platformMessageId: `live-${nonce}`, direction: "DIRECTION_INBOUND",
    participant: SEED.live.participant, text });
  await expect("the ingested message at the top of the list", () =>
    page.locator(".threads li:first-child .row", { hasText: text }).waitFor({ timeout: WAIT }));
  log(`ingested message at the top after ${Date.now() - t0} ms`);
  await shot("live-message-on-top");

  // Open it.
  await row(text).click();
  await expect("the message in the thread", () => page.locator(".msg.in", { hasText: text }).waitFor({ timeout: WAIT }));
  await shot("thread");

  // Reply: pending, then sent (the fake Telegram answers after a delay).
  const reply = `Yes, we ship to Lisbon (${nonce})`;
  await page.fill("#reply", reply);
  await page.press("#reply", "Control+Enter");
  const mine = page.locator(".msg.out", { hasText: reply });
  await expect("the reply shown pending", () => mine.and(page.locator('[data-status="pending"]')).waitFor({ timeout: WAIT }));
  await shot("reply-pending");
  const t1 = Date.now();
  await expect("the reply shown sent", () => mine.and(page.locator('[data-status="sent"]')).waitFor({ timeout: WAIT }));
  log(`reply sent shown ${Date.now() - t1} ms after pending`);
  if ((await page.inputValue("#reply")) !== "") await fail("the reply box must be empty after sending");
  await shot("reply-sent");

  // A reply the platform refuses: failed, with the reason and Retry; Retry sends it.
  const refused = `Here is the link, please refuse (${nonce})`;
  await page.fill("#reply", refused);
  await page.click("button[type=submit]:has-text('Send')");
  const bad = page.locator(".msg.out", { hasText: refused });
  await expect("the refused reply shown failed with its reason", () =>
    bad.and(page.locator('[data-status="failed"]')).locator(".failure", { hasText: "blocked" }).waitFor({ timeout: WAIT }));
  await shot("reply-failed");
  await bad.locator("button", { hasText: "Retry" }).click();
  await expect("the retried reply shown sent", () => bad.and(page.locator('[data-status="sent"]')).waitFor({ timeout: WAIT }));

  // Tag it, then the tag filter shows it (and only the tagged threads).
  await page.click("button[aria-label='Contact details']");
  await page.selectOption("#add-tag", { label: SEED.tag });
  await expect("the tag on the contact", () => page.locator(".details .tag", { hasText: SEED.tag }).waitFor({ timeout: WAIT }));
  await page.click("button[aria-label='Close details']");
  await page.selectOption("#f-tag", { label: SEED.tag });
  await expect("the tagged thread under the tag filter", () => row(SEED.live.name).first().waitFor({ timeout: WAIT }));
  await expect("only tagged threads under the tag filter", async () => {
    await page.waitForFunction((n) => document.querySelectorAll(".threads .row").length === n, 1, { timeout: WAIT });
  });
  await shot("tag-filter");
  await page.click("text=Clear");

  // Search finds it, highlighted, and opens the thread at the message.
  await page.fill("#search", "Lisbon");
  const hit = page.locator(".search-results .hit", { hasText: nonce }).first();
  await expect("a search hit", () => hit.waitFor({ timeout: WAIT }));
  const marked = await hit.locator("mark").allInnerTexts();
  if (!marked.some((m) => /lisbon/i.test(m))) await fail(`the hit must highlight Lisbon, got marks ${JSON.stringify(marked)}`);
  await shot("search");
  await hit.click();
  await expect("the thread opened at the message", () => page.locator(".msg.focused", { hasText: "Lisbon" }).waitFor({ timeout: WAIT }));
  await shot("search-opened");

  // Phone width.
  await page.setViewportSize({ width: 390, height: 844 });
  await shot("phone-thread");
  await page.click("button[aria-label='Back to the list']");
  await expect("the list at phone width", () => row(SEED.live.name).first().waitFor({ timeout: WAIT }));
  await shot("phone-list");

  // j / k move between threads.
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.locator("body").click({ position: { x: 5, y: 300 } });
  await page.keyboard.press("j");
  await expect("j opens a thread", () => page.locator(".thread-head h2").waitFor({ timeout: WAIT }));

  // The contact panel: status and context (UpdateProspectContext).
  await row(SEED.live.name).first().click();
  await page.click("button[aria-label='Contact details']");
  await page.selectOption("#p-status", { label: SEED.status });
  await expect("the status on the row", () => row(SEED.live.name).locator(".chip.status", { hasText: SEED.status }).waitFor({ timeout: WAIT }));
  await page.fill("#p-notes", "Wants the blue jacket, size M. Ships to Lisbon.");
  await page.fill("#p-valuation", "240");
  await page.click("text=+ Add a field");
  await page.fill(".kv input[aria-label='Field name']", "city");
  await page.fill(".kv input[aria-label='Field value']", "Lisbon");
  await page.click("text=Save contact");
  await expect("the contact saved", () => page.locator(".save-row", { hasText: "Saved" }).waitFor({ timeout: WAIT }));
  const ctx = await (await fetch(`${API}/switchboard.v1.ProspectService/GetProspect`, { method: "POST",
    headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" }, body: JSON.stringify({ prospectId: SEED.live.prospectId }) })).json();
  if (ctx.prospect?.notes !== "Wants the blue jacket, size M. Ships to Lisbon." || ctx.prospect?.valuation !== 240 || ctx.prospect?.customFields?.city !== "Lisbon") {
    await fail(`UpdateProspectContext did not store the panel's values: ${JSON.stringify(ctx.prospect)}`);
  }
  await shot("contact-panel");

  if (consoleErrors.length) await fail("browser console errors:\n" + consoleErrors.join("\n"));
  log("all steps passed");
  await browser.close();
} catch (e) {
  await fail(e.stack || String(e));
}
