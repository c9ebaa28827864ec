// A prebuilt single-page app: client-side routes like /settings are served index.html by the rewrite rule.
document.getElementById("root").textContent = `Route: ${location.pathname}`;
