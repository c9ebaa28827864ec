// A prebuilt single-page app: its router renders the route in the address bar. Client routes such as
// /settings/profile have no file of their own: the rewrite rule serves index.html there.
const routes = {
  "/": () => ["Home", "Welcome."],
  "/settings/profile": () => ["Settings: profile", "Your profile."],
};

function render() {
  const root = document.getElementById("root");
  const route = routes[location.pathname];
  const [title, text] = route ? route() : ["Not found", `No route for ${location.pathname}.`];
  root.innerHTML = "";
  const h1 = document.createElement("h1");
  h1.textContent = title;
  const p = document.createElement("p");
  p.textContent = text;
  root.append(h1, p);
  root.dataset.route = route ? location.pathname : "";
  document.title = `SPA - ${title}`;
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a");
  if (link && link.origin === location.origin && routes[link.pathname]) {
    event.preventDefault();
    history.pushState({}, "", link.pathname);
    render();
  }
});
window.addEventListener("popstate", render);
render();
