"""Another path to the stacks (``isotp.stack.CanStack``), as some tutorials import them."""

from isotp.protocol import CanStack, NotifierBasedCanStack, TransportLayer, TransportLayerLogic

__all__ = ['CanStack', 'NotifierBasedCanStack', 'TransportLayer', 'TransportLayerLogic']
