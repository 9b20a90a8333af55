"""Scrapy reference crawl for bench/crawl.py --site: same-host pages, every <img> fetched once.

python bench/_scrapy_site.py SEED CONCURRENCY OUT.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response


class SiteSpider(scrapy.Spider):  # type: ignore[misc]
    name = "site"

    def __init__(self, seed: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = [seed]
        self.host = urlsplit(seed).netloc
        self.pages: list[str] = []
        self.pairs: list[tuple[str, str]] = []
        self.images = 0

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        if not isinstance(response, scrapy.http.HtmlResponse):
            self.images += 1
            return
        self.pages.append(response.url)
        for src in response.css("img::attr(src)").getall():
            image = response.urljoin(src)
            self.pairs.append((response.url, image))
            yield scrapy.Request(image, callback=self.parse)
        for href in response.css("a::attr(href)").getall():
            link = response.urljoin(href).split("#", 1)[0]
            if urlsplit(link).netloc == self.host:
                yield scrapy.Request(link, callback=self.parse)


def main() -> None:
    seed, concurrency, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "ROBOTSTXT_OBEY": True,
            "LOG_LEVEL": "ERROR",
            "TELNETCONSOLE_ENABLED": False,
            "DEPTH_LIMIT": 0,
            "DOWNLOAD_MAXSIZE": 20 * 1024 * 1024,
        }
    )
    crawler = process.create_crawler(SiteSpider)
    process.crawl(crawler, seed=seed)
    process.start()
    spider = crawler.spider
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"pages": spider.pages, "pairs": spider.pairs, "images": spider.images}, fh)


if __name__ == "__main__":
    main()
