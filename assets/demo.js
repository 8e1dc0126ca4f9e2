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

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-quiet]")) {
      return;
    }
    event.preventDefault();
    var body = new URLSearchParams(new FormData(form, event.submitter));
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      redirect: "manual"
    }).then(function () {
      var box = form.querySelector("input[type=text]");
      if (box) {
        box.value = "";
      }
      refresh();
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
