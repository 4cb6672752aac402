"""The installer's page (``edge-agent web``): a separate process that reads the agent through its control socket.

Never imported by the agent (``edge-agent run``): its libraries (Starlette, uvicorn, Jinja2, argon2-cffi) come
with the ``web`` extra and stay out of the daemon's memory.
"""
