/* Location for the engineer's workspace: the list reports where the phone is (dispatch uses it), and the
   set-off and check-in buttons send the position with the form. A phone that refuses or cannot tell still
   submits: the check-in is then recorded as "without a location". */
(function () {
  "use strict";
  var geo = navigator.geolocation;
  var list = document.getElementById("workspace");
  if (list && geo) {
    geo.getCurrentPosition(function (pos) {
      var body = new URLSearchParams({latitude: pos.coords.latitude, longitude: pos.coords.longitude,
                                      csrf_token: list.getAttribute("data-csrf")});
      fetch(list.getAttribute("data-location-url"), {method: "POST", body: body, credentials: "same-origin"});
    }, function () {}, {maximumAge: 60000, timeout: 10000});
  }
  document.querySelectorAll("form.ws-locate").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!geo || form.getAttribute("data-located")) return;
      event.preventDefault();
      var send = function () { form.setAttribute("data-located", "1"); form.submit(); };
      geo.getCurrentPosition(function (pos) {
        form.elements.latitude.value = pos.coords.latitude;
        form.elements.longitude.value = pos.coords.longitude;
        if (form.elements.accuracy) form.elements.accuracy.value = Math.round(pos.coords.accuracy);
        send();
      }, send, {enableHighAccuracy: true, maximumAge: 30000, timeout: 15000});
    });
  });
})();
