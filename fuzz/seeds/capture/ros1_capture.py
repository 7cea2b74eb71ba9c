"""Captures real ROS 1 bytes for the fuzz seeds: XML-RPC responses from roscore and rospy,
the XML-RPC calls roscore and rosnode make to a node, and TCPROS headers and messages from
rospy publishers.

    /usr/bin/python3 ros1_capture.py OUT_DIR JPEG_FILE

Starts its own roscore on port 18311 and answers node calls on 18312 (loopback only)."""
import http.client, os, socket, struct, subprocess, sys, threading, time, xmlrpc.client
from http.server import BaseHTTPRequestHandler, HTTPServer

OUT, JPEG = sys.argv[1], sys.argv[2]
MASTER_PORT, NODE_PORT = 18311, 18312
env = dict(os.environ, ROS_MASTER_URI=f"http://127.0.0.1:{MASTER_PORT}", ROS_IP="127.0.0.1", ROS_HOME=os.path.join(OUT, ".roshome"))
procs = []

def save(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)

def post(port, method, *params):
    body = xmlrpc.client.dumps(params, method).encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
    return c.getresponse().read()

calls = []
class Node(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        calls.append(body)
        reply = xmlrpc.client.dumps(([1, "", 0],), methodresponse=True).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(reply))); self.end_headers()
        self.wfile.write(reply)
    def log_message(self, *a): pass

server = HTTPServer(("127.0.0.1", NODE_PORT), Node)
threading.Thread(target=server.serve_forever, daemon=True).start()
node_uri = f"http://127.0.0.1:{NODE_PORT}/"
try:
    procs.append(subprocess.Popen(["roscore", "-p", str(MASTER_PORT)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for _ in range(100):
        try:
            post(MASTER_PORT, "getUri", "/fuzz"); break
        except OSError:
            time.sleep(0.2)
    save("response_getUri.xml", post(MASTER_PORT, "getUri", "/fuzz"))
    save("response_registerSubscriber.xml", post(MASTER_PORT, "registerSubscriber", "/fuzz", "/cam", "sensor_msgs/CompressedImage", node_uri))
    save("response_registerSubscriber_raw.xml", post(MASTER_PORT, "registerSubscriber", "/fuzz", "/raw", "sensor_msgs/Image", node_uri))
    save("response_lookupNode_unknown.xml", post(MASTER_PORT, "lookupNode", "/fuzz", "/nobody"))
    save("response_fault_unknown_method.xml", post(MASTER_PORT, "noSuchMethod", "/fuzz"))
    pub = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../crates/lookout-sources/tests/ros/ros1_publisher.py")
    procs.append(subprocess.Popen(["/usr/bin/python3", pub, "/cam", "compressed", JPEG, "5"], env=env, stdout=subprocess.PIPE))
    procs.append(subprocess.Popen(["/usr/bin/python3", pub, "/raw", "raw", "rgb8", "4", "3", "0", "5"], env=env, stdout=subprocess.PIPE))
    for p in procs[1:]:
        p.stdout.readline()
    time.sleep(2)
    save("response_getSystemState.xml", post(MASTER_PORT, "getSystemState", "/fuzz"))
    save("response_getPublishedTopics.xml", post(MASTER_PORT, "getPublishedTopics", "/fuzz", ""))
    save("response_getTopicTypes.xml", post(MASTER_PORT, "getTopicTypes", "/fuzz"))
    # What `rosnode ping` and `rosnode info` send (rosnode is Python's xmlrpc.client too).
    xmlrpc.client.ServerProxy(node_uri).getPid("/rosnode")
    xmlrpc.client.ServerProxy(node_uri).getBusInfo("/rosnode")
    for i, body in enumerate(calls):
        method = xmlrpc.client.loads(body)[1]
        save(f"call_{method}_{i}.xml", body)
    for topic, kind, type_, md5 in [("/cam", 2, "sensor_msgs/CompressedImage", "8f7a12909da2c9d3332d540a0977563f"),
                                    ("/raw", 1, "sensor_msgs/Image", "060021388200f6f0f447d0fcd9c64743")]:
        state = xmlrpc.client.loads(post(MASTER_PORT, "registerSubscriber", "/fuzz", topic, type_, node_uri))[0][0]
        pub_uri = state[2][0]
        port = int(pub_uri.rsplit(":", 1)[1].strip("/"))
        resp = post(port, "requestTopic", "/fuzz", topic, [["TCPROS"]])
        save(f"response_requestTopic_{topic[1:]}.xml", resp)
        _, host, tport = xmlrpc.client.loads(resp)[0][0][2]
        fields = [f"callerid=/fuzz", f"topic={topic}", f"md5sum={md5}", f"type={type_}", "tcp_nodelay=1"]
        hdr = b"".join(struct.pack("<I", len(f)) + f.encode() for f in fields)
        s = socket.create_connection((host, tport), timeout=10)
        s.sendall(struct.pack("<I", len(hdr)) + hdr)
        def block():
            n = struct.unpack("<I", s.recv(4, socket.MSG_WAITALL))[0]
            return s.recv(n, socket.MSG_WAITALL)
        save(f"tcpros_header_{topic[1:]}.bin", b"\x00" + block())
        save(f"tcpros_message_{topic[1:]}.bin", bytes([kind]) + block())
        save("tcpros_subscriber_header.bin", b"\x00" + hdr)
        s.close()
finally:
    server.shutdown()
    for p in reversed(procs):
        p.send_signal(2)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
