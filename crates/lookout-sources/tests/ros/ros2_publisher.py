"""A real rclpy publisher for Lookout's ROS 2 tests.

Publishes the bytes of a file the test wrote, unchanged, as sensor_msgs/msg/Image (with the
given size and encoding) or sensor_msgs/msg/CompressedImage (with the given format), with a
fixed header stamp, at a steady rate until killed. Prints "ready" once the publisher exists.

  ros2_publisher.py TOPIC raw|compressed DATA_FILE --size 4x3 --encoding rgb8 \
      [--qos reliable|sensor] [--rate 20] [--stamp 1700000000.5] [--sequence]

With --sequence the stamp's nanoseconds count the messages (0, 1, 2...), so the test can tell
lost and repeated messages apart. With --report it prints "subscriptions N" each time the
number of subscriptions matched with the publisher changes (checked every 50 ms): what the
publisher's own middleware believes it must send to.

Needs rclpy (PyPI: ros-jazzy-rclpy[fastrtps], ros-jazzy-sensor-msgs).
"""

import argparse
import signal
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("topic")
    parser.add_argument("type", choices=["raw", "compressed"])
    parser.add_argument("data_file")
    parser.add_argument("--size", default="0x0", help="WIDTHxHEIGHT (raw only)")
    parser.add_argument("--encoding", default="rgb8", help="raw: pixel encoding; compressed: format")
    parser.add_argument("--step", type=int, help="bytes per row (raw; default width * bytes per pixel)")
    parser.add_argument("--qos", choices=["reliable", "sensor"], default="reliable")
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--stamp", default="1700000000.5")
    parser.add_argument("--sequence", action="store_true")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()

    with open(args.data_file, "rb") as f:
        data = f.read()
    sec, _, frac = args.stamp.partition(".")
    nanosec = int((frac + "000000000")[:9])

    if args.type == "raw":
        width, height = (int(v) for v in args.size.split("x"))
        msg = Image()
        msg.width = width
        msg.height = height
        msg.encoding = args.encoding
        msg.is_bigendian = 0
        msg.step = args.step if args.step is not None else (len(data) // height if height else 0)
        msg_type = Image
    else:
        msg = CompressedImage()
        msg.format = args.encoding
        msg_type = CompressedImage
    msg.header.stamp.sec = int(sec)
    msg.header.stamp.nanosec = nanosec
    msg.header.frame_id = "camera"
    msg.data = data

    # Camera drivers publish with sensor-data QoS (best effort); rclpy's default is reliable.
    qos = qos_profile_sensor_data if args.qos == "sensor" else QoSProfile(depth=10)

    rclpy.init()
    node = rclpy.create_node("lookout_test_publisher")
    publisher = node.create_publisher(msg_type, args.topic, qos)
    count = [0]

    def tick():
        if args.sequence:
            msg.header.stamp.nanosec = count[0] % 1_000_000_000
            count[0] += 1
        publisher.publish(msg)

    node.create_timer(1.0 / args.rate, tick)
    if args.report:
        reported = [None]

        def report():
            n = publisher.get_subscription_count()
            if n != reported[0]:
                reported[0] = n
                print(f"subscriptions {n}", flush=True)

        node.create_timer(0.05, report)
    signal.signal(signal.SIGTERM, lambda *_: rclpy.try_shutdown())
    print("ready", flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
