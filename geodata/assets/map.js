
function (map, cfg) {
  var T = cfg.text, renderer = L.canvas({padding: 0.5});
  var S = {days: [], points: [], warehouses: L.layerGroup(), pointGroup: L.layerGroup(),
           tranche: "", play: 0, timer: null, statusOn: {}, dayBoxes: [], whOn: true};
  var colors = {};
  cfg.statuses.forEach(function (s) { S.statusOn[s.code] = true; colors[s.code] = s.color; });
  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function num(v, d) {
    return Number(v).toLocaleString(cfg.locale, {maximumFractionDigits: d || 0});
  }
  // Lines arrive as encoded polylines (precision 5, latitude first): see geodata.maps.encode_line.
  function decode(text) {
    var out = [], i = 0, lat = 0, lng = 0;
    while (i < text.length) {
      for (var k = 0; k < 2; k++) {
        var shift = 0, value = 0, b;
        do {
          b = text.charCodeAt(i++) - 63;
          value |= (b & 31) << shift;
          shift += 5;
        } while (b >= 32);
        var delta = (value & 1) ? ~(value >> 1) : (value >> 1);
        if (k === 0) { lat += delta; } else { lng += delta; }
      }
      out.push([lat / 1e5, lng / 1e5]);
    }
    return out;
  }
  function snapLine(p) {
    if (p.snap_m === undefined) { return ""; }
    return "<br>" + esc(T.snap) + ": " + (p.snap_m === null ? "-" : num(p.snap_m) + " m");
  }
  function statusLabel(code) {
    for (var i = 0; i < cfg.statuses.length; i++) {
      if (cfg.statuses[i].code === code) { return cfg.statuses[i].label; }
    }
    return code;
  }
  // A polyline that draws arrowheads along its segments on the canvas, pointing the way driven.
  var ArrowLine = L.Polyline.extend({
    _updatePath: function () {
      L.Polyline.prototype._updatePath.call(this);
      var r = this._renderer;
      if (!r || !r._ctx || !r._drawing || !this._parts) { return; }
      var ctx = r._ctx, size = 4 + this.options.weight;
      ctx.save();
      ctx.fillStyle = this.options.color;
      ctx.globalAlpha = this.options.opacity;
      for (var i = 0; i < this._parts.length; i++) {
        var part = this._parts[i];
        for (var j = 1; j < part.length; j++) {
          var a = part[j - 1], b = part[j], dx = b.x - a.x, dy = b.y - a.y;
          var len = Math.sqrt(dx * dx + dy * dy);
          if (len < 5 * size) { continue; }
          var ux = dx / len, uy = dy / len;
          var tx = (a.x + b.x) / 2 + ux * size, ty = (a.y + b.y) / 2 + uy * size;
          ctx.beginPath();
          ctx.moveTo(tx, ty);
          var bx = tx - ux * size * 1.8, by = ty - uy * size * 1.8, wx = uy * size * 0.9;
          var wy = ux * size * 0.9;
          ctx.lineTo(bx + wx, by - wy);
          ctx.lineTo(bx - wx, by + wy);
          ctx.closePath();
          ctx.fill();
        }
      }
      ctx.restore();
    }
  });
  function routePopup(p, label) {
    return '<div class="bsb-popup"><b>' + esc(T.truck) + " " + esc(p.truck) +
      (p.type ? " (" + esc(p.type) + ")" : "") + ", " + esc(T.trip) + " " + esc(p.trip) +
      "</b><br>" + esc(label) + "<br>" + esc(T.depart) + " " + esc(p.depart) + " · " +
      esc(T.return) + " " + esc(p.return) + "<br>" + esc(T.load) + " " + num(p.kg) + " kg, " +
      num(p.sacks) + " " + esc(T.sacks) + " · " + num(p.km, 1) + " km<br>" + esc(T.tranche) +
      " " + esc(p.tranches.join(", ")) + " · " + esc(T.stops) + " " + p.stops.length + "</div>";
  }
  function pointPopup(p) {
    var h = '<div class="bsb-popup"><b>' + esc(p.id) + "</b> " + esc(p.name) + "<br>" +
      esc(T.rt_rw) + " " + esc(p.rt || "-") + "/" + esc(p.rw || "-") + " · " + esc(T.desa) + " " +
      esc(p.desa) + " · " + esc(T.kecamatan) + " " + esc(p.kecamatan) + "<br>" + esc(T.kpm) +
      ": " + num(p.kpm) + " · <b>" + esc(statusLabel(p.status)) + "</b>" + snapLine(p);
    h += "<table><tr><th>" + esc(T.tranche) + "</th><th>" + esc(T.due) + "</th><th>" +
      esc(T.arrival) + "</th><th>" + esc(T.truck) + "/" + esc(T.trip) + "</th><th>kg</th><th>" +
      esc(T.sacks) + "</th></tr>";
    p.tranches.forEach(function (t) {
      var rows = Math.max(1, t.stops.length);
      h += '<tr><td rowspan="' + rows + '">' + esc(t.tranche) + "<br><small>" +
        esc(statusLabel(t.status)) + '</small></td><td rowspan="' + rows + '">' + num(t.due_kg) +
        " kg<br>" + num(t.due_sacks) + " " + esc(T.sacks) + "</td>";
      if (!t.stops.length) { h += '<td colspan="4">-</td></tr>'; }
      t.stops.forEach(function (s, i) {
        if (i) { h += "<tr>"; }
        h += "<td>" + esc(s.day) + " " + esc(s.arrive) +
          (s.late ? ' <span class="bsb-late">' + esc(T.late) + "</span>" : "") + "</td><td>" +
          esc(s.truck) + " / " + esc(s.trip) + "</td><td>" + num(s.kg) + "</td><td>" +
          num(s.sacks) + "</td></tr>";
      });
      if (t.reason) {
        h += '<tr><td colspan="6"><b>' + esc(T.reason) + ":</b> " + esc(t.reason) + "</td></tr>";
      }
    });
    return h + "</table></div>";
  }
  function firstDay(p) {
    var first = null;
    p.tranches.forEach(function (t) {
      if (S.tranche && t.tranche !== S.tranche) { return; }
      t.stops.forEach(function (s) { if (first === null || s.date < first) { first = s.date; } });
    });
    return first;
  }
  function pointStatus(p) {
    if (!S.tranche) { return p.status; }
    for (var i = 0; i < p.tranches.length; i++) {
      if (p.tranches[i].tranche === S.tranche) { return p.tranches[i].status; }
    }
    return p.status;
  }
  function refresh() {
    var nRoutes = 0, nPoints = 0, playDate = S.play > 0 ? S.days[S.play - 1].date : null;
    S.days.forEach(function (d, i) {
      var on = S.play > 0 ? i === S.play - 1 : d.on;
      d.group.clearLayers();
      if (!on) { return; }
      d.lines.forEach(function (line) {
        if (!S.tranche || line.bsb.tranches.indexOf(S.tranche) >= 0) {
          d.group.addLayer(line);
          nRoutes++;
        }
      });
    });
    S.pointGroup.clearLayers();
    S.points.forEach(function (mk) {
      var p = mk.bsb, status = pointStatus(p);
      if (!S.statusOn[status]) { return; }
      var color = colors[status], first = firstDay(p);
      if (playDate && status !== "unassigned" && (first === null || first > playDate)) {
        color = cfg.pending_color;
      }
      mk.setStyle({fillColor: color});
      S.pointGroup.addLayer(mk);
      nPoints++;
    });
    if (S.whOn) { S.warehouses.addTo(map); } else { map.removeLayer(S.warehouses); }
    var el = map.getContainer();
    el.setAttribute("data-routes", nRoutes);
    el.setAttribute("data-markers", nPoints);
    el.setAttribute("data-warehouses", S.whOn ? S.warehouses.getLayers().length : 0);
    if (S.playLabel) {
      S.playLabel.textContent = S.play > 0 ? S.days[S.play - 1].label : T.all_days;
    }
  }
  function panel(position, build) {
    var C = L.Control.extend({
      onAdd: function () {
        var div = L.DomUtil.create("div", "bsb-panel");
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        build(div);
        return div;
      }
    });
    return new C({position: position}).addTo(map);
  }
  function checkbox(parent, label, checked, onchange, swatch) {
    var l = L.DomUtil.create("label", "", parent), box = L.DomUtil.create("input", "", l);
    box.type = "checkbox";
    box.checked = checked;
    box.addEventListener("change", function () { onchange(box.checked); });
    if (swatch) {
      var s = L.DomUtil.create("span", "bsb-swatch", l);
      s.style.background = swatch;
    }
    l.appendChild(document.createTextNode(" " + label));
    return box;
  }
  function radio(parent, name, label, checked, onchange) {
    var l = L.DomUtil.create("label", "", parent), box = L.DomUtil.create("input", "", l);
    box.type = "radio";
    box.name = name;
    box.checked = checked;
    box.addEventListener("change", function () { if (box.checked) { onchange(); } });
    l.appendChild(document.createTextNode(" " + label));
  }
  // A section that folds under its heading; folded at first on a narrow screen (a phone).
  function folder(parent, heading, text, className) {
    var details = L.DomUtil.create("details", className, parent);
    details.open = map.getSize().x >= cfg.narrow_px;
    L.DomUtil.create(heading, "", L.DomUtil.create("summary", "", details)).textContent = text;
    return details;
  }
  function search(div) {
    div.className += " bsb-search";
    var input = L.DomUtil.create("input", "", div), list = L.DomUtil.create("ul", "", div);
    input.type = "search";
    input.placeholder = T.search;
    var desas = {};
    S.points.forEach(function (mk) {
      var d = mk.bsb.desa;
      if (d) { (desas[d] = desas[d] || []).push(mk); }
    });
    function show(items) {
      list.innerHTML = "";
      items.forEach(function (it) {
        var li = L.DomUtil.create("li", "", list);
        li.textContent = it.text;
        li.addEventListener("click", it.go);
      });
    }
    function matches(q) {
      q = q.trim().toLowerCase();
      if (q.length < 1) { return []; }
      var out = [];
      Object.keys(desas).forEach(function (d) {
        if (d.toLowerCase().indexOf(q) >= 0 && out.length < 4) {
          out.push({text: T.desa + " " + d + " (" + desas[d].length + " " + T.points + ")",
            exact: d.toLowerCase() === q, go: function () {
              map.fitBounds(L.latLngBounds(desas[d].map(function (mk) { return mk.getLatLng(); })),
                {maxZoom: 15, padding: [30, 30]});
            }});
        }
      });
      S.points.forEach(function (mk) {
        var p = mk.bsb, id = String(p.id).toLowerCase();
        if (out.length < 12 && (id.indexOf(q) >= 0 || p.name.toLowerCase().indexOf(q) >= 0)) {
          out.push({text: p.id + " · " + p.name + " · " + p.desa, exact: id === q, go: function () {
            map.setView(mk.getLatLng(), Math.max(map.getZoom(), 15));
            L.popup().setLatLng(mk.getLatLng()).setContent(pointPopup(p)).openOn(map);
          }});
        }
      });
      out.sort(function (a, b) { return (b.exact ? 1 : 0) - (a.exact ? 1 : 0); });
      return out;
    }
    input.addEventListener("input", function () {
      var m = matches(input.value);
      show(m.length || !input.value ? m : [{text: T.no_match, go: function () {}}]);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        var m = matches(input.value);
        if (m.length) { m[0].go(); }
      }
    });
  }
  return {
    addBackground: function (bg) {
      // Below the routes, in a pane of its own, and never in the way of a click.
      map.createPane("bsbBackground").style.zIndex = 350;
      var under = L.canvas({pane: "bsbBackground", padding: 0.5});
      S.background = [];
      if (bg.boundaries.length) {
        var areas = L.layerGroup(), labels = L.layerGroup();
        bg.boundaries.forEach(function (b) {
          L.polygon(b.rings.map(decode), {renderer: under, pane: "bsbBackground",
            interactive: false, color: "#7f7f7f", weight: 1, opacity: 0.7, dashArray: "4 3",
            fill: false}).addTo(areas);
          L.marker([b.label[1], b.label[0]], {interactive: false, keyboard: false,
            icon: L.divIcon({className: "bsb-area-name", html: "<span>" + esc(b.name) + "</span>",
              iconSize: null})
          }).addTo(labels);
        });
        var zoomLabels = function () {
          if (areas._map && map.getZoom() >= cfg.label_zoom) { labels.addTo(map); }
          else { map.removeLayer(labels); }
        };
        map.on("zoomend", zoomLabels);
        S.background.push({label: T.boundaries, on: function (v) {
          if (v) { areas.addTo(map); } else { map.removeLayer(areas); }
          zoomLabels();
        }});
        areas.addTo(map);
        zoomLabels();
      }
      if (bg.roads.length) {
        var roads = L.layerGroup();
        bg.roads.forEach(function (r) {
          L.polyline(decode(r), {renderer: under, pane: "bsbBackground", interactive: false,
            color: "#9e9e9e", weight: 1.5, opacity: 0.7}).addTo(roads);
        });
        roads.addTo(map);
        S.background.push({label: T.main_roads, on: function (v) {
          if (v) { roads.addTo(map); } else { map.removeLayer(roads); }
        }});
      }
      map.getContainer().setAttribute("data-background", bg.roads.length + bg.boundaries.length);
    },
    addDay: function (date, label, features) {
      var day = {date: date, label: label, on: true, group: L.layerGroup().addTo(map), lines: []};
      features.forEach(function (f) {
        var p = f.properties, ll = decode(f.line), at = p.places, line;
        if (cfg.overview && at.length > 2) {
          // The stops' part in the truck's colour; the legs from and back to the warehouse as
          // faint dashes, so many warehouses' trips do not become a fan of spokes.
          var leg = {renderer: renderer, color: p.color, weight: 1, opacity: 0.3,
            dashArray: "2 5"};
          var first = at[1], last = at[at.length - 2];
          line = L.featureGroup([
            L.polyline(ll.slice(0, first + 1), leg),
            L.polyline(ll.slice(last), leg),
            new ArrowLine(ll.slice(first, last + 1), {renderer: renderer, color: p.color,
              weight: 2, opacity: 0.85})
          ]);
        } else {
          line = new ArrowLine(ll, {renderer: renderer, color: p.color, weight: 3,
            opacity: 0.85});
        }
        line.bsb = p;
        line.bindPopup(function () { return routePopup(p, label); }, {maxWidth: 320});
        day.lines.push(line);
      });
      S.days.push(day);
    },
    addPoints: function (fc) {
      S.pointGroup.addTo(map);
      fc.features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        var mk = L.circleMarker([c[1], c[0]], {renderer: renderer, radius: 5, weight: 1,
          color: "#333", fillOpacity: 0.9, fillColor: colors[p.status]});
        mk.bsb = p;
        mk.bindPopup(function () { return pointPopup(p); }, {maxWidth: 420});
        S.points.push(mk);
      });
    },
    addWarehouses: function (fc) {
      fc.features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        var icon = L.divIcon({className: "bsb-wh", html: esc(T.warehouse_letter),
          iconSize: [22, 22], iconAnchor: [11, 11]});
        var mk = L.marker([c[1], c[0]], {icon: icon, zIndexOffset: 1000, title: p.name});
        var per = Object.keys(p.shipped_kg_per_tranche).map(function (k) {
          return esc(k) + ": " + num(p.shipped_kg_per_tranche[k]);
        }).join(", ");
        mk.bindPopup('<div class="bsb-popup"><b>' + esc(T.warehouse) + " " + esc(p.name) +
          "</b> (" + esc(p.id) + ")<br>" + esc(T.stock) + ": " + num(p.stock_kg) + "<br>" +
          esc(T.shipped) + ": " + num(p.shipped_kg) + " (" + per + ")<br>" + esc(T.trips) + ": " +
          num(p.trips) + " · " + esc(T.trucks) + ": " + num(p.trucks) + snapLine(p) + "</div>");
        S.warehouses.addLayer(mk);
      });
    },
    finish: function (sum) {
      panel("topleft", function (div) {
        var pct = sum.families_total ? (100 * sum.families_served / sum.families_total) : 0;
        var h = "<h4>" + esc(cfg.title) + "</h4><table>" +
          "<tr><td>" + esc(T.families_served) + '</td><td class="n">' + num(sum.families_served) +
          " / " + num(sum.families_total) + " (" + num(pct, 1) + " %)</td></tr>" +
          "<tr><td>" + esc(T.tonnes) + '</td><td class="n">' + num(sum.tonnes, 1) + "</td></tr>" +
          "<tr><td>" + esc(T.distance) + '</td><td class="n">' + num(sum.distance_km, 1) +
          "</td></tr><tr><td>" + esc(T.trips) + '</td><td class="n">' + num(sum.trips) +
          "</td></tr><tr><td>" + esc(T.truck_days) + '</td><td class="n">' + num(sum.truck_days) +
          "</td></tr><tr><td>" + esc(T.unassigned_deliveries) + '</td><td class="n">' +
          num(sum.unassigned) + " " + esc(T.deliveries) + ", " + num(sum.kg_unassigned) +
          " kg</td></tr></table>";
        if (sum.waiting && sum.waiting.length) {
          // Who has their rice by when, per tranche: the lines and the curve of summary.md.
          // Folded at first on a narrow screen, like the other sections.
          h += '<details class="bsb-waiting"' + (map.getSize().x >= cfg.narrow_px ? " open" : "") +
            "><summary><h5>" + esc(T.waiting) +
            "</h5></summary>";
          sum.waiting.forEach(function (w) {
            h += "<div><b>" + esc(w.tranche) + "</b><br>" + w.svg + "<div>" + esc(w.lines[0]) +
              "</div><div>" + esc(w.lines[1]) + "</div></div>";
          });
          h += "</details>";
        }
        if (cfg.index_href) {
          h += '<a href="' + esc(cfg.index_href) + '">' + esc(T.back_to_index) + "</a>";
        }
        div.innerHTML = h;
        div.className += " bsb-summary";
      });
      panel("topleft", search);
      // Short filters first, the long list of days last in its own scrolling box: however
      // many days a plan has, the tranche filter stays at the top of the panel, on screen.
      panel("topright", function (div) {
        div.className += " bsb-layers";
        L.DomUtil.create("h4", "", div).textContent = T.layers;
        L.DomUtil.create("h5", "", div).textContent = T.tranche;
        radio(div, "bsb-tranche", T.all, true, function () { S.tranche = ""; refresh(); });
        cfg.tranches.forEach(function (t) {
          radio(div, "bsb-tranche", t.id + " - " + t.name, false,
            function () { S.tranche = t.id; refresh(); });
        });
        L.DomUtil.create("h5", "", div).textContent = T.status;
        cfg.statuses.forEach(function (s) {
          checkbox(div, s.label, true,
            function (v) { S.statusOn[s.code] = v; refresh(); }, s.color);
        });
        L.DomUtil.create("h5", "", div).textContent = T.warehouses;
        checkbox(div, T.warehouses, true, function (v) { S.whOn = v; refresh(); });
        if (S.background && S.background.length) {
          L.DomUtil.create("h5", "", div).textContent = T.background;
          S.background.forEach(function (b) { checkbox(div, b.label, true, b.on); });
        }
        var fold = folder(div, "h5", T.days, "bsb-days-fold");
        var links = L.DomUtil.create("div", "bsb-links", fold);
        [[T.all, true], [T.none, false]].forEach(function (pair) {
          var a = L.DomUtil.create("a", "", links);
          a.textContent = pair[0];
          a.addEventListener("click", function () {
            S.days.forEach(function (d, i) { d.on = pair[1]; S.dayBoxes[i].checked = pair[1]; });
            refresh();
          });
        });
        var dayList = L.DomUtil.create("div", "bsb-days", fold);
        S.days.forEach(function (d) {
          S.dayBoxes.push(checkbox(dayList, d.label + " (" + d.lines.length + ")", true,
            function (v) { d.on = v; refresh(); }));
        });
      });
      panel("bottomright", function (div) {
        div.className += " bsb-legend";
        var body = folder(div, "h4", T.legend, "bsb-legend-fold"), h = "";
        cfg.statuses.forEach(function (s) {
          h += '<div><span class="bsb-swatch" style="background:' + s.color + '"></span>' +
            esc(s.label) + "</div>";
        });
        h += '<div><span class="bsb-swatch" style="background:' + cfg.pending_color +
          '"></span>' + esc(T.pending) + "</div>";
        h += '<div><span class="bsb-wh" style="display:inline-block;width:16px;line-height:14px;' +
          'font-size:10px">' + esc(T.warehouse_letter) + "</span> " + esc(T.warehouse) + "</div>";
        h += "<div>&#10230; " + esc(T.route_legend) + "</div>";
        body.insertAdjacentHTML("beforeend", h);
      });
      if (S.days.length > 1) {
        panel("bottomleft", function (div) {
          div.className += " bsb-play";
          L.DomUtil.create("h5", "", div).textContent = T.playback;
          var range = L.DomUtil.create("input", "", div), button;
          range.type = "range";
          range.min = 0;
          range.max = S.days.length;
          range.value = 0;
          range.addEventListener("input", function () { S.play = Number(range.value); refresh(); });
          L.DomUtil.create("br", "", div);
          button = L.DomUtil.create("button", "", div);
          button.type = "button";
          button.textContent = T.play;
          S.playLabel = L.DomUtil.create("span", "", div);
          S.playLabel.style.marginLeft = "6px";
          button.addEventListener("click", function () {
            if (S.timer) {
              clearInterval(S.timer);
              S.timer = null;
              button.textContent = T.play;
              return;
            }
            button.textContent = T.pause;
            S.timer = setInterval(function () {
              S.play = S.play >= S.days.length ? 1 : S.play + 1;
              range.value = S.play;
              refresh();
              if (S.play >= S.days.length) {
                clearInterval(S.timer);
                S.timer = null;
                button.textContent = T.play;
              }
            }, 1200);
          });
        });
      }
      refresh();
      // The first view leaves room for the panels; on a screen too narrow for that room, fit
      // the drop points again with small margins instead of zooming in to a street.
      var size = map.getSize(), fit = cfg.fit;
      if (size.x < fit.top_left[0] + fit.bottom_right[0] + 200) {
        map.fitBounds(fit.bounds, {paddingTopLeft: [10, 60], paddingBottomRight: [10, 60]});
      }
      // Credit the tiles only once one is shown: a map opened offline shows none.
      map.eachLayer(function (layer) {
        var credit = layer instanceof L.TileLayer && layer.getAttribution();
        if (!credit || !map.attributionControl) { return; }
        map.attributionControl.removeAttribution(credit);
        layer.once("tileload", function () { map.attributionControl.addAttribution(credit); });
      });
      map.getContainer().setAttribute("data-days", S.days.length);
      map.getContainer().setAttribute("data-bsb-ready", "1");
      // Time from navigation start until layers and controls exist (benchmarks read it).
      if (window.performance) {
        map.getContainer().setAttribute("data-ready-ms", Math.round(performance.now()));
      }
    }
  };
}
