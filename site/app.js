// config.json is written at deploy time by the stack (Source.json_data).
fetch("/config.json")
  .then((response) => response.json())
  .then((config) => {
    document.getElementById("config").textContent =
      `App ${config.appId}, branch ${config.branch}, region ${config.region}, stack ${config.stackName}.`;
  })
  .catch(() => {
    document.getElementById("config").textContent = "No deploy-time configuration found.";
  });
