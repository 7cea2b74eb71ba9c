#!/usr/bin/python3
"""A rospy node publishing known pictures, for Lookout's ROS 1 tests.

    ros1_publisher.py TOPIC raw ENCODING WIDTH HEIGHT [SEED] [HZ]
    ros1_publisher.py TOPIC rawfile ENCODING WIDTH HEIGHT PIXEL_FILE [HZ]
    ros1_publisher.py TOPIC compressed JPEG_FILE [HZ]

`raw` images carry byte i of their data = (i * 7 + SEED) % 256, rows packed (step = width *
bytes per pixel); the tests compute the same bytes. `rawfile` images carry the file's bytes
(rows packed). Compressed images carry the file's bytes with format "jpeg". Every header has stamp 1700000000.000000123 and frame_id "camera".
Run with Debian's /usr/bin/python3 and ROS_MASTER_URI, ROS_IP, ROS_HOME set; prints "ready"
once advertised.
"""

import sys

import rospy
from sensor_msgs.msg import CompressedImage, Image

BYTES_PER_PIXEL = {"mono8": 1, "mono16": 2, "16UC1": 2, "rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}


def main():
    topic, kind = sys.argv[1], sys.argv[2]
    rospy.init_node("lookout_test_publisher", anonymous=True)
    if kind in ("raw", "rawfile"):
        encoding, width, height = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        hz = float(sys.argv[7]) if len(sys.argv) > 7 else 30.0
        step = width * BYTES_PER_PIXEL[encoding]
        msg = Image(height=height, width=width, encoding=encoding, is_bigendian=0, step=step)
        if kind == "raw":
            seed = int(sys.argv[6]) if len(sys.argv) > 6 else 0
            msg.data = bytes((i * 7 + seed) % 256 for i in range(step * height))
        else:
            with open(sys.argv[6], "rb") as f:
                msg.data = f.read()
        pub = rospy.Publisher(topic, Image, queue_size=2)
    else:
        with open(sys.argv[3], "rb") as f:
            msg = CompressedImage(format="jpeg", data=f.read())
        hz = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
        pub = rospy.Publisher(topic, CompressedImage, queue_size=2)
    msg.header.stamp = rospy.Time(1700000000, 123)
    msg.header.frame_id = "camera"
    print("ready", flush=True)
    rate = rospy.Rate(hz)
    while not rospy.is_shutdown():
        pub.publish(msg)
        rate.sleep()


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, rospy.ROSInterruptException):
        pass
