/**
 * The graph layout's worker: elkjs's own worker code (GWT-compiled ELK, no eval), which answers
 * elk-api's layout requests posted from the page. The page never computes a layout itself, so a
 * graph of thousands of nodes cannot freeze it.
 */
import 'elkjs/lib/elk-worker.min.js';
