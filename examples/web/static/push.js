// The waiting pages of push approvals: asks every second whether the app has answered, and goes
// on when it has. Without this script the page's "Check" button asks the same question.
(function () {
  "use strict";
  var form = document.getElementById("push-check");
  if (!form) { return; }
  var url = form.getAttribute("data-status");
  var token = form.querySelector("input[name=csrf_token]").value;
  function poll() {
    fetch(url, { method: "POST", credentials: "same-origin", headers: { "x-csrf-token": token } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (answer && answer.next) { window.location.assign(answer.next); return; }
        if (answer) { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 1000); });
  }
  setTimeout(poll, 1000);
})();
