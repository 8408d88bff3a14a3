#!/usr/bin/env python3
"""Walk one case through the whole loop over HTTP, as the demo's people would, against a running server:

    make demo                      # in one terminal
    python3 scripts/api_walkthrough.py [http://127.0.0.1:8000]

A resident reports a problem in the demo grid worker's grid with a photo; the acceptor accepts, the shift
leader files, the dispatcher dispatches to the demo unit, the unit signs for it and feeds back with a photo,
the grid worker verifies, the resident rates and reads the timeline. Every step prints its answer and time;
the script stops with exit code 1 at the first unexpected answer. Standard library only.
"""

import base64
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000").rstrip("/")
PASSWORD = "yiwang-demo"
# A real 16×16 JPEG: uploads are decoded and re-encoded (yiwang/media), so a stand-in would be refused.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19i"
    "Z2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2P/wAARCAAQABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUF"
    "BAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVW"
    "V1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi"
    "4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAEC"
    "AxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVm"
    "Z2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq"
    "8vP09fb3+Pn6/9oADAMBAAIRAxEAPwAooorlIP/Z"
)


def call(method, path, token=None, data=None, files=None):
    headers = {"Accept": "application/json", "Accept-Language": "zh-hans"}
    body = None
    if token:
        headers["Authorization"] = f"Token {token}"
    if files:
        boundary = uuid.uuid4().hex
        parts = []
        for key, value in (data or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
        for key, (name, content, ctype) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{name}"\r\n'
                         f"Content-Type: {ctype}\r\n\r\n".encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(BASE + path, data=body, method=method, headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload = response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        status, payload = error.code, json.loads(error.read() or b"null")
    return status, payload, (time.perf_counter() - started) * 1000


def expect(label, result, status=200):
    got, payload, ms = result
    shown = payload.get("status") if isinstance(payload, dict) else ""
    print(f"  {label:<38} HTTP {got}  {shown or '':<12} {ms:6.1f} ms")
    if got != status:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        sys.exit(1)
    return payload


def login(username):
    return expect(f"login {username}", call("POST", "/api/v1/auth/token/",
                                            data={"username": username, "password": PASSWORD}))["token"]


def main():
    print(f"Walking one case through {BASE}")
    t = {name: login(name) for name in ("resident", "acceptor", "shiftlead", "dispatcher", "unit", "gridworker",
                                        "leader")}
    me = expect("who is the grid worker", call("GET", "/api/v1/me/", t["gridworker"]))
    grid_id = next(a["grid"] for a in me["assignments"] if a["grid"])
    grid = expect("the grid worker's grid", call("GET", f"/api/v1/geo/grids/{grid_id}/", t["gridworker"]))
    unit_id = expect("who is the unit", call("GET", "/api/v1/me/", t["unit"]))["unit"]
    lat = (grid["min_lat"] + grid["max_lat"]) / 2
    lon = (grid["min_lon"] + grid["max_lon"]) / 2
    located = expect("locate the point", call("GET", f"/api/v1/geo/locate?lat={lat}&lon={lon}"))
    if located["grid"]["code"] != grid["code"]:  # the bbox centre of a concave grid may fall outside it
        print("  the centre of the grid's box is outside the grid; try another demo grid")
        sys.exit(1)

    case = expect("resident reports with a photo", call(
        "POST", "/api/v1/cases/", t["resident"],
        data={"description": "小区东门口垃圾堆积，无人清运", "lat": lat, "lon": lon, "category": "E0102",
              "address": "东门口"},
        files={"attachments": ("现场.jpg", JPEG, "image/jpeg")}), status=201)
    cid = case["id"]
    print(f"  → case {case['number']} in {case['grid_name']}, respond by {case['respond_due_at']}, "
          f"{len(case['duplicates'])} possible duplicates")
    expect("acceptor accepts", call("POST", f"/api/v1/cases/{cid}/accept/", t["acceptor"], data={}))
    filed = expect("shift leader files", call("POST", f"/api/v1/cases/{cid}/file/", t["shiftlead"], data={}))
    print(f"  → routing suggests {filed['routing'].get('suggested_unit_name') or 'no unit'}; "
          f"handle by {filed['handle_due_at']}")
    expect("dispatcher dispatches to the unit", call("POST", f"/api/v1/cases/{cid}/dispatch/", t["dispatcher"],
                                                     data={"unit": unit_id, "note": "请尽快处置"}))
    expect("leader urges (一键督办)", call("POST", f"/api/v1/cases/{cid}/supervise/", t["leader"],
                                        data={"action": "urge", "note": "群众反映强烈"}))
    expect("unit signs for it", call("POST", f"/api/v1/cases/{cid}/sign/", t["unit"], data={}))
    expect("unit feeds back with a photo", call(
        "POST", f"/api/v1/cases/{cid}/feedback/", t["unit"], data={"result": "已组织清运，现场已清理干净"},
        files={"attachments": ("处置后.jpg", JPEG, "image/jpeg")}))
    expect("grid worker verifies on site", call("POST", f"/api/v1/cases/{cid}/verify/", t["gridworker"],
                                                data={"note": "现场核实已清理"}))
    expect("resident rates", call("POST", f"/api/v1/cases/{cid}/rate/", t["resident"],
                                  data={"rating": "satisfied", "comment": "处理及时"}))
    timeline = expect("resident reads the timeline", call("GET", f"/api/v1/cases/{cid}/timeline/", t["resident"]))
    for entry in timeline:
        print(f"    {entry['at'][:16]}  {entry['text']}")
    expect("a sibling district's dispatcher is refused", call("GET", f"/api/v1/cases/{cid}/", login("dispatcher2")),
           status=404)
    print("The case went from report to rating.")


if __name__ == "__main__":
    main()
