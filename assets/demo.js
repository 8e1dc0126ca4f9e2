// The demo page, live: without this file it works the same, by forms and
// reloads. With it, forms are sent without leaving the page, and each
// change the server announces (a text, a move of the clock) brings the
// parts of the page marked data-live up to date, keeping what is being
// typed.
(function () {
  "use strict";
  if (!window.fetch || !window.EventSource || !window.DOMParser) {
    return;
  }

  var refreshing = false;
  var again = false;
  // Which change the page shows; each event names the latest.
  var marker = document.getElementById("live-version");
  var shown = marker ? marker.dataset.version : "";

  function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    fetch(window.location.pathname + window.location.search, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var freshMarker = fresh.getElementById("live-version");
        if (freshMarker) {
          shown = freshMarker.dataset.version;
        }
        fresh.querySelectorAll("[data-live]").forEach(function (part) {
          var old = document.getElementById(part.id);
          if (old) {
            keepTyping(old, part);
            old.replaceWith(part);
          }
        });
        // A phone or an inbox added or gone: the whole list anew.
        [["phones", "numbers"], ["inboxes", "addresses"]].forEach(function (list) {
          var now = document.getElementById(list[0]);
          var then = fresh.getElementById(list[0]);
          if (now && then && now.dataset[list[1]] !== then.dataset[list[1]]) {
            keepTyping(now, then);
            now.replaceWith(then);
          }
        });
        document.querySelectorAll(".ng-texts, .ng-heard").forEach(function (list) {
          list.scrollTop = list.scrollHeight;
        });
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  // Carry what is typed in each box over to the new copy of the phones.
  function keepTyping(from, to) {
    var focused = document.activeElement && document.activeElement.id;
    from.querySelectorAll("input[type=text], textarea").forEach(function (input) {
      var twin = to.querySelector("#" + CSS.escape(input.id));
      if (twin) {
        twin.value = input.value;
      }
    });
    window.setTimeout(function () {
      var again = focused && document.getElementById(focused);
      if (again) {
        again.focus();
      }
    }, 0);
  }

  // A form is sent without leaving the page. The server answers with the
  // page itself (after a redirect when it took the form, or at once,
  // status 422, when it refused it): its copy of the form (emptied once
  // sent, or with what was typed and why it was refused) and its notices
  // replace ours. While a form is on its way its buttons are disabled,
  // so a double-click sends once.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-quiet]")) {
      return;
    }
    event.preventDefault();
    if (form.dataset.sending) {
      return;
    }
    var body = new URLSearchParams(new FormData(form, event.submitter));
    var buttons = form.querySelectorAll("button");
    form.dataset.sending = "yes";
    buttons.forEach(function (button) { button.disabled = true; });
    function done() {
      delete form.dataset.sending;
      buttons.forEach(function (button) { button.disabled = false; });
    }
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin"
    }).then(function (response) {
      return response.text().then(function (html) {
        return { refused: response.status === 422, ok: response.ok || response.status === 422, html: html };
      });
    }).then(function (answer) {
      var fresh = new DOMParser().parseFromString(answer.html, "text/html");
      var notices = document.getElementById("notices");
      var freshNotices = fresh.getElementById("notices");
      if (!answer.ok || !freshNotices) {
        // Not the page (the server is stopping, or refused the form outright):
        // keep what was typed and say so.
        if (notices) {
          notices.innerHTML = "";
          var p = document.createElement("p");
          p.className = "nhsuk-inset-text";
          p.setAttribute("role", "alert");
          p.textContent = "That did not go through. Try again.";
          notices.appendChild(p);
        }
        done();
        return;
      }
      if (notices) {
        notices.replaceWith(freshNotices);
      }
      var twin = form.id && fresh.getElementById(form.id);
      if (twin) {
        form.replaceWith(twin);
        if (answer.refused) {
          var wrong = twin.querySelector(".nhsuk-input--error, .nhsuk-textarea--error");
          if (wrong) {
            wrong.focus();
          }
        }
      } else {
        done();
      }
      refresh();
    }).catch(function () {
      done();
    });
  });

  var events = new EventSource("/demo/events");
  events.addEventListener("change", function (event) {
    if (event.data !== shown) {
      refresh();
    }
  });
  document.querySelectorAll(".ng-texts, .ng-heard").forEach(function (list) {
    list.scrollTop = list.scrollHeight;
  });
})();
