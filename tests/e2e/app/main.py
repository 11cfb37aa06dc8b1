"""Serves the end-to-end test's JupyterLab front end (build/) with Debian's jupyterlab_server.

Run with /usr/bin/python3 (Debian's jupyter_server 1.x and jupyterlab_server 2.x):

    /usr/bin/python3 main.py --ServerApp.port=8888 --CnnvisE2eLab.user_settings_dir=... [server flags]

JupyterLab 4 asks two endpoints that jupyter_server 1.x does not have: the identity (GET /api/me)
and the event bus (POST /api/events, websocket /api/events/subscribe). They are answered here the
way a server without identity providers and without an event bus would: an anonymous user with no
extra permissions, events accepted and dropped, a subscription that never carries an event.
"""
import getpass
import json
import os

from jupyter_server.base.handlers import APIHandler
from jupyterlab_server import LabServerApp
from tornado import web, websocket

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")

# Configuration files of the machine must not change the app under test.
os.environ["JUPYTER_NO_CONFIG"] = "1"


class IdentityHandler(APIHandler):
    @web.authenticated
    def get(self):
        name = getpass.getuser()
        self.finish(json.dumps({
            "identity": {
                "username": name,
                "name": name,
                "display_name": name,
                "initials": name[:1].upper(),
                "avatar_url": None,
                "color": None,
            },
            "permissions": {},
        }))


class EventsHandler(APIHandler):
    @web.authenticated
    def post(self):
        try:
            event = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "event is not JSON")
        if not isinstance(event, dict) or not {"schema_id", "version", "data"} <= event.keys():
            raise web.HTTPError(400, "event needs schema_id, version and data")
        self.set_status(204)
        self.finish()


class EventSubscriptionHandler(websocket.WebSocketHandler):
    def check_origin(self, origin):
        return origin.split("://", 1)[-1] == self.request.host

    def on_message(self, message):
        pass


class CnnvisE2eLab(LabServerApp):
    # jupyter_server finds a directly launched extension app by its module's name.
    name = __name__
    app_name = "cnnvis e2e JupyterLab"
    app_version = json.load(open(os.path.join(HERE, "package.json")))["version"]
    extension_url = "/lab"
    default_url = "/lab"
    app_url = "/lab"
    load_other_extensions = False
    static_dir = BUILD
    templates_dir = os.path.join(HERE, "templates")
    schemas_dir = os.path.join(BUILD, "schemas")
    themes_dir = os.path.join(BUILD, "themes")
    app_settings_dir = os.path.join(BUILD, "application_settings")

    def initialize_handlers(self):
        self.handlers.extend([
            (r"/api/me", IdentityHandler),
            (r"/api/events", EventsHandler),
            (r"/api/events/subscribe", EventSubscriptionHandler),
        ])
        super().initialize_handlers()


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": CnnvisE2eLab}]


if __name__ == "__main__":
    CnnvisE2eLab.launch_instance()
