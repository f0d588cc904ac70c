/*
 * The sandbox's demo page: a stand-in for the product's SPA, served by `npm run sandbox` only
 * (never part of AppModule, so never in production). It keeps the bearer token and team id from
 * the URL fragment in sessionStorage (the fragment is lost on the way back from Atlassian) and
 * calls the API like a SPA would: authorize, choose a site, status, verify, disconnect.
 * An `api=<origin>` fragment parameter makes it call an API on another origin (cross-site demo).
 */
export const DEMO_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jira-connect sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 15px/1.45 system-ui, sans-serif; color: #172b4d; max-width: 720px; margin: 32px auto; padding: 0 16px; }
  h1 { font-size: 22px; margin-bottom: 4px; }
  .note { color: #6b778c; font-size: 13px; }
  .card { border: 1px solid #dfe1e6; border-radius: 6px; padding: 14px 18px; margin: 16px 0; }
  #status { font-size: 26px; font-weight: 700; }
  #status.connected { color: #006644; } #status.not_connected { color: #6b778c; }
  #status.pending_site_selection, #status.reauthorization_required { color: #974f0c; }
  #outcome { padding: 8px 12px; border-radius: 4px; background: #e3fcef; display: none; }
  #outcome.error { background: #ffebe6; }
  button { font: inherit; border: 0; border-radius: 3px; padding: 6px 14px; margin: 4px 6px 4px 0; cursor: pointer; background: #ebecf0; }
  button.primary { background: #0052cc; color: #fff; }
  pre { background: #f4f5f7; padding: 10px; border-radius: 4px; overflow: auto; font-size: 12px; max-height: 260px; }
</style></head>
<body>
  <h1>jira-connect sandbox</h1>
  <div class="note">This page plays the product's SPA against the local API and a local stand-in for Atlassian.</div>
  <p id="outcome"></p>
  <div class="card">
    <div class="note">Jira connection of <span id="team">?</span></div>
    <div id="status">…</div>
    <div id="site" class="note"></div>
    <div id="sites"></div>
  </div>
  <div>
    <button id="connect" class="primary">Connect Jira</button>
    <button id="refresh">Status</button>
    <button id="verify">Verify</button>
    <button id="disconnect">Disconnect</button>
  </div>
  <p class="note">Last API answer:</p>
  <pre id="response"></pre>
<script>
(() => {
  const KEY = 'jira-connect-sandbox';
  const $ = (id) => document.getElementById(id);
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) {
    sessionStorage.setItem(KEY, JSON.stringify({ token: fragment.get('token'), team: fragment.get('team'), api: fragment.get('api') || '' }));
    history.replaceState(null, '', location.pathname + location.search);
  }
  const cfg = JSON.parse(sessionStorage.getItem(KEY) || 'null');
  const back = new URLSearchParams(location.search);
  if (back.get('jira')) {
    const out = $('outcome');
    out.style.display = 'block';
    out.className = back.get('jira') === 'error' ? 'error' : '';
    out.textContent = 'Back from Atlassian: jira=' + back.get('jira') + (back.get('code') ? ', code=' + back.get('code') : '');
  }
  if (!cfg) {
    $('status').textContent = 'no token';
    $('response').textContent = 'Open the URL printed by "npm run sandbox" (it carries a token for the demo user).';
    return;
  }
  $('team').textContent = 'team ' + cfg.team;
  const base = (cfg.api || location.origin) + '/api/integrations/jira';

  async function call(method, path, body) {
    const headers = { authorization: 'Bearer ' + cfg.token, 'x-team-id': cfg.team };
    if (body) headers['content-type'] = 'application/json';
    // credentials: the authorize answer sets the binding cookie the callback needs.
    const res = await fetch(base + path, { method, headers, credentials: 'include', body: body ? JSON.stringify(body) : undefined });
    const json = await res.json().catch(() => null);
    $('response').textContent = method + ' ' + path + ' → ' + res.status + '\\n' + JSON.stringify(json, null, 2);
    return { res, json };
  }

  function show(data) {
    $('status').textContent = data.status;
    $('status').className = data.status;
    $('site').textContent = data.site ? data.site.name + ' (' + data.site.url + ')' : '';
    const sites = $('sites');
    sites.textContent = '';
    if (data.status === 'pending_site_selection') {
      const label = document.createElement('p');
      label.textContent = 'Choose the Jira site for this team:';
      sites.appendChild(label);
      for (const site of data.availableSites || []) {
        const b = document.createElement('button');
        b.textContent = site.name + ' (' + site.url + ')';
        b.dataset.cloudId = site.cloudId;
        b.className = 'site';
        b.onclick = async () => {
          const { json } = await call('PUT', '/site', { cloudId: site.cloudId });
          if (json && json.data) show(json.data);
        };
        sites.appendChild(b);
      }
    }
  }

  async function refresh(verify) {
    const { json } = await call('GET', '/oauth/status' + (verify ? '?verify=true' : ''));
    if (json && json.data) show(json.data);
  }

  $('connect').onclick = async () => {
    const { json } = await call('POST', '/oauth/authorize', { returnTo: location.origin + location.pathname });
    if (json && json.data) location.assign(json.data.authorizationUrl);
  };
  $('refresh').onclick = () => refresh(false);
  $('verify').onclick = () => refresh(true);
  $('disconnect').onclick = async () => {
    const { json } = await call('DELETE', '/oauth/disconnect');
    if (json && json.data) show({ status: json.data.status, site: null });
  };
  refresh(false);
})();
</script>
</body></html>
`;
