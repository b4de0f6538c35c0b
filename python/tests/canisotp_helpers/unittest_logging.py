"""Logging set-up the can-isotp tests import: a ``logger`` and ``configure_transport_layer``."""

import logging
import os

logger = logging.getLogger('isotp.test')
logging.basicConfig(level=logging.DEBUG if os.environ.get('ISOTP_TEST_DEBUG') else logging.CRITICAL)


def configure_transport_layer(layer):
    layer.logger = logging.getLogger('isotp.test.layer')
