import gc
import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Each worker serves several requests in threads that mostly wait on the database. A thread whose answer has
# arrived waits for the interpreter lock up to this long (5 ms by default) while another thread computes, and
# it may hold a database lock meanwhile (the journal's tail): a shorter interval hands the lock back sooner.
sys.setswitchinterval(float(os.environ.get("YIWANG_SWITCH_INTERVAL", "0.001")))
application = get_wsgi_application()
# Everything loaded so far (Django, the apps, their modules) lives as long as the worker: moved out of the
# cyclic garbage collector's sight, so its full collections, which come every few thousand requests' worth of
# allocations, walk only what requests make (a full walk over all of it cost 5–10 ms of a request).
gc.collect()
gc.freeze()
