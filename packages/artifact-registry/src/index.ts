export * from './image-uri.js';
