#!/usr/bin/env python3
"""Log in to Woodpecker through its forge's OAuth2 flow without a browser; print a personal token.

Python 3 standard library only (urllib + http.cookiejar + html.parser). The dance a browser does:

  GET  <woodpecker>/authorize                -> 303 to <forge>/login/oauth/authorize?...&state=...
  GET  <forge>/login/oauth/authorize         -> 303 to <forge>/user/login (not signed in yet)
  POST <forge>/user/login (form + _csrf)     -> 303 back to /login/oauth/authorize
  GET  <forge>/login/oauth/authorize         -> grant page (first time) or straight to the callback
  POST <forge>/login/oauth/grant (granted)   -> 303 to <woodpecker>/authorize?code=..&state=..
  GET  <woodpecker>/authorize?code=..        -> Woodpecker creates/updates the user with the forge's
                                                OAuth token, sets the user_sess cookie, 303 to /
  GET  <woodpecker>/web-config.js            -> window.WOODPECKER_CSRF = "..."
  POST <woodpecker>/api/user/token           -> the personal token (X-CSRF-TOKEN header)

Forms are filled generically: every hidden input is sent back, plus the credentials on the login
form and the `granted=true` button on the grant form.

--forge-only checks the forge half alone (no Woodpecker needed): it starts at the forge's
authorize URL for --client-id/--redirect-uri and prints the callback URL the forge redirects to.
"""

import argparse
import html.parser
import http.cookiejar
import re
import sys
import urllib.error
import urllib.parse
import urllib.request


class Form:
    def __init__(self, action, method):
        self.action, self.method, self.fields, self.buttons, self.names = action, method, {}, [], set()


class FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.cur = [], None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.cur = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self.cur)
        elif self.cur is not None and tag in ("input", "button") and a.get("name"):
            self.cur.names.add(a["name"])
            typ = a.get("type", "submit" if tag == "button" else "text").lower()
            if typ == "hidden":
                self.cur.fields[a["name"]] = a.get("value", "")
            elif typ == "submit":
                self.cur.buttons.append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self.cur = None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def go(self, url, data=None, headers=None):
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        req = urllib.request.Request(url, data=body, headers=headers or {},
                                     method="POST" if body is not None else "GET")
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, r.headers, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode("utf-8", "replace")

    def cookie(self, name):
        return next((c.value for c in self.jar if c.name == name), None)


def same_origin(a, b):
    pa, pb = urllib.parse.urlsplit(a), urllib.parse.urlsplit(b)
    return (pa.scheme, pa.netloc) == (pb.scheme, pb.netloc)


def oauth_dance(b, start, forge, user, password, stop_at=None):
    """Follow redirects and fill the forge's forms. Returns the last URL reached outside the forge
    (the callback) when stop_at is given, else the Woodpecker URL where the flow ended."""
    url, data, logged_in = start, None, False
    for _ in range(25):
        if stop_at and url.startswith(stop_at):
            return url
        status, headers, body = b.go(url, data)
        data = None
        if status in (301, 302, 303, 307, 308):
            url = urllib.parse.urljoin(url, headers["Location"])
            continue
        if status != 200:
            raise SystemExit(f"woodpecker_login: {url}: HTTP {status}: {body[:300]}")
        if not same_origin(url, forge):
            return url  # back on Woodpecker, flow finished
        p = FormParser()
        p.feed(body)
        login = next((f for f in p.forms if "password" in f.names and
                      ("user_name" in f.names or "username" in f.names)), None)
        grant = next((f for f in p.forms if "oauth/grant" in f.action), None)
        if login and not logged_in:
            form = login
            fields = dict(form.fields)
            fields["user_name" if "user_name" in form.names else "username"] = user
            fields["password"] = password
            logged_in = True
        elif grant:
            form = grant
            fields = dict(form.fields)
            name, value = next(((n, v) for n, v in form.buttons if v == "true"), ("granted", "true"))
            fields[name] = value
        else:
            flash = re.search(r'class="[^"]*flash-error[^"]*"[^>]*>(.*?)</div>', body, re.S)
            why = re.sub(r"<[^>]+>|\s+", " ", flash.group(1)).strip() if flash else "no login or grant form"
            raise SystemExit(f"woodpecker_login: stuck at {url}: {why}")
        url = urllib.parse.urljoin(url, form.action or url)
        data = fields
    raise SystemExit("woodpecker_login: too many redirects")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--woodpecker", help="Woodpecker base URL, e.g. http://127.0.0.1:28000")
    ap.add_argument("--forge", required=True, help="forge base URL, e.g. http://127.0.0.1:23000")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--forge-only", action="store_true", help="check the forge half only")
    ap.add_argument("--client-id")
    ap.add_argument("--redirect-uri")
    a = ap.parse_args()
    forge = a.forge.rstrip("/")
    b = Browser()

    if a.forge_only:
        q = urllib.parse.urlencode({"client_id": a.client_id, "redirect_uri": a.redirect_uri,
                                    "response_type": "code", "state": "forge-only-check"})
        cb = oauth_dance(b, f"{forge}/login/oauth/authorize?{q}", forge, a.user, a.password,
                         stop_at=a.redirect_uri)
        print(cb)
        return 0 if "code=" in cb else 1

    wp = a.woodpecker.rstrip("/")
    end = oauth_dance(b, f"{wp}/authorize", forge, a.user, a.password)
    if "error=" in end:
        raise SystemExit(f"woodpecker_login: Woodpecker refused the login: {end}")
    if not b.cookie("user_sess"):
        raise SystemExit(f"woodpecker_login: no user_sess cookie after the flow (ended at {end})")
    status, _, js = b.go(f"{wp}/web-config.js")
    m = re.search(r'WOODPECKER_CSRF\s*=\s*"([^"]*)"', js)
    if status != 200 or not m:
        raise SystemExit("woodpecker_login: no CSRF token in /web-config.js")
    status, _, tok = b.go(f"{wp}/api/user/token", data=b"", headers={"X-CSRF-TOKEN": m.group(1)})
    if status != 200 or not tok.strip():
        raise SystemExit(f"woodpecker_login: POST /api/user/token: HTTP {status}: {tok[:200]}")
    print(tok.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
