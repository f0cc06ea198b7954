"""Reading centrelines: GeoJSON with route ids, an OSM-like GeoPackage in a projected CRS, bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from tenken.errors import NetworkError
from tenken.network.read import read_network
from tests.network_drives import STREET_M, STREET_START_M, network_geojson, network_routes


def test_geojson_routes_keep_their_ids_names_and_start_distances(tmp_path):
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(network_geojson()))
    routes = {r.route_id: r for r in read_network(path, unit_m=50.0)}
    assert sorted(routes) == ["R1", "R2"]
    r1 = routes["R1"]
    assert r1.name == "Sakura-dori" and r1.start_m == STREET_START_M and r1.unit_m == 50.0
    assert r1.length_m == pytest.approx(STREET_M, abs=0.5)
    assert r1.n_units == 9 and r1.unit_bounds_m(8) == (
        STREET_START_M + 400,
        pytest.approx(STREET_START_M + STREET_M, abs=0.5),
    )


def test_osm_ways_of_one_street_in_a_projected_crs_become_one_route(tmp_path):
    from pyogrio.raw import write

    street = network_routes()[0].points
    to_plane = Transformer.from_crs("EPSG:4326", "EPSG:6677", always_xy=True)  # JGD2011 plane IX (Tokyo)
    xy = [to_plane.transform(lon, lat) for lat, lon in street]
    # three OSM ways, the middle one drawn backwards, and no route id: the name joins them
    ways = [xy[:30], list(reversed(xy[29:60])), xy[59:]]
    geoms = shapely.to_wkb(np.asarray([shapely.LineString(w) for w in ways], dtype=object))
    path = tmp_path / "osm.gpkg"
    names = np.asarray(["Sakura-dori"] * 3, dtype=object)
    highway = np.asarray(["residential"] * 3, dtype=object)
    write(str(path), geoms, [names, highway], ["name", "highway"], layer="lines", driver="GPKG",
          geometry_type="LineString", crs="EPSG:6677")  # fmt: skip
    routes = read_network(path)
    assert [r.route_id for r in routes] == ["Sakura-dori"]
    assert routes[0].length_m == pytest.approx(STREET_M, abs=0.5)
    lat, lon = routes[0].points[0]
    assert {round(lat, 3), round(lon, 3)} & {round(street[0][0], 3), round(street[-1][0], 3)}


def test_a_missing_id_field_names_the_fields_there_are(tmp_path):
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(network_geojson()))
    with pytest.raises(
        NetworkError, match="no feature has the field 'road_no'; fields: name, route_id, start_m"
    ):
        read_network(path, id_field="road_no")


def test_a_non_numeric_start_distance_is_named(tmp_path):
    data = network_geojson()
    data["features"][0]["properties"]["start_m"] = "km 3"
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(data))
    with pytest.raises(NetworkError, match="route R1: start distance 'km 3' is not a number"):
        read_network(path)
