// Security keys and passkeys: on the form's submit, asks the service for the options, passes them to
// navigator.credentials.create() (data-mode="create") or .get() (data-mode="get") with their base64url
// fields as ArrayBuffers, posts the browser's answer back as JSON and follows the page it names.
(function () {
  "use strict";
  var form = document.getElementById("passkey");
  if (!form) { return; }
  var errorBox = document.getElementById("passkey-error");
  var token = form.querySelector("input[name=csrf_token]").value;

  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var binary = atob(b64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toB64url(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function credentialList(list) {
    return (list || []).map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = fromB64url(c.id);
      return copy;
    });
  }

  function decode(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    if (pk.user) { pk.user = Object.assign({}, pk.user, { id: fromB64url(pk.user.id) }); }
    if (pk.excludeCredentials) { pk.excludeCredentials = credentialList(pk.excludeCredentials); }
    if (pk.allowCredentials) { pk.allowCredentials = credentialList(pk.allowCredentials); }
    return { publicKey: pk };
  }

  function encode(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) { response.transports = r.getTransports(); }
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle) { response.userHandle = toB64url(r.userHandle); }
    }
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {}
    };
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": token },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) { throw new Error(answer.error || "That didn't work."); }
        return answer;
      });
    });
  }

  function show(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var mode = form.getAttribute("data-mode");
    var fields = {};
    var name = form.querySelector("input[name=name]");
    if (name) { fields.name = name.value; }
    var method = form.getAttribute("data-method");
    if (method) { fields.method = method; }
    var remember = form.querySelector("input[name=remember]");
    post(form.getAttribute("data-options"), fields)
      .then(function (options) {
        var decoded = decode(options);
        return mode === "create" ? navigator.credentials.create(decoded) : navigator.credentials.get(decoded);
      })
      .then(function (credential) {
        var body = { credential: encode(credential) };
        if (remember && remember.checked) { body.remember = true; }
        return post(form.getAttribute("data-finish"), body);
      })
      .then(function (answer) { window.location.assign(answer.next); })
      .catch(function (error) { show(error && error.message ? error.message : "That didn't work."); });
  });
})();
