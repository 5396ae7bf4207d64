"""`manage.py runserver` that understands `Transfer-Encoding: chunked` request bodies.

Django's development server hands the application a stream limited to
Content-Length, which is 0 for the chunked layer uploads docker always sends.
This server de-chunks such bodies itself and marks the input terminated, the
way gunicorn does, so the registry reads the same way under both.
"""

from wsgiref import simple_server

from django.core.servers import basehttp

from images.api.streams import ChunkedReader, is_chunked


class ServerHandler(basehttp.ServerHandler):
    def __init__(self, stdin, stdout, stderr, environ, **kwargs):
        if is_chunked(environ):
            self.chunked_input = ChunkedReader(stdin)
            environ["wsgi.input_terminated"] = True
            simple_server.ServerHandler.__init__(self, self.chunked_input, stdout, stderr, environ, **kwargs)
        else:
            self.chunked_input = None
            super().__init__(stdin, stdout, stderr, environ, **kwargs)

    def close(self):
        if self.chunked_input is not None:
            try:
                self.chunked_input.drain()
            except Exception:  # a broken body: the connection can't be reused
                self.request_handler.close_connection = True
            simple_server.ServerHandler.close(self)
        else:
            super().close()


class RequestHandler(basehttp.WSGIRequestHandler):
    def handle_one_request(self):
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = ServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ())
        handler.request_handler = self
        handler.run(self.server.get_app())


class WSGIServer(basehttp.WSGIServer):
    def __init__(self, server_address, handler_class, *args, **kwargs):
        super().__init__(server_address, RequestHandler, *args, **kwargs)
